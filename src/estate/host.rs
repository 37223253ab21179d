//! What one host's `EstateCheck` unit reads of it ([`super::check`]): the host and its diagnostic
//! settings through Resource Manager, the recording storage it records into and who may write
//! there (read once a tick for the hosts recording there: [`super::shared`]), and the Entra ID
//! sign-in extension of its recent RDP targets.

use time::OffsetDateTime;

use super::findings::{HostFacts, target_of};
use super::settings::EstateSettings;
use super::shared::{Reads, once};
use crate::arm::ResourceManager;
use crate::ports::Ports;

/// Reads one host: it and its diagnostic settings; the blob service and container of the source
/// it records into (else the one labelled with it) and who may write there; and the VMs of its
/// recent RDP sessions that sign in with Entra ID. With them, false when the host's recording
/// identity was read but could not be recorded (a table error). What `shared` holds of the
/// storage is not read again.
pub async fn read(
    ports: &Ports,
    (arm, shared): (&dyn ResourceManager, &Reads),
    settings: &EstateSettings,
    host: &str,
    custody: bool,
    now: OffsetDateTime,
) -> (HostFacts, bool) {
    let (h, diagnostics) = tokio::join!(arm.bastion_host(host), arm.diagnostic_settings(host));
    let recordings = ports.sources.recordings();
    let mut facts = HostFacts {
        at: Some(now),
        watched: recordings
            .iter()
            .map(|s| format!("{}/{}", s.account(), s.container).to_ascii_lowercase())
            .collect(),
        diagnostics: Some(diagnostics),
        ..HostFacts::default()
    };
    let read = h.as_ref().ok();
    let target = read
        .and_then(|h| h.properties.session_recording_configuration.as_ref())
        .and_then(|c| c.target())
        .and_then(target_of);
    let principal = read.and_then(|h| h.recording_principal().map(str::to_owned));
    let recording_on = read.is_some_and(|h| h.properties.enable_session_recording);
    facts.host = Some(h);
    let name = crate::arm::resource_name(host);
    let targeted = target
        .as_ref()
        .and_then(|(a, c)| recordings.iter().find(|s| s.is(a, c)));
    let source = targeted.or_else(|| {
        recordings.iter().find(|s| {
            s.bastion_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(host))
                || s.bastion
                    .as_deref()
                    .is_some_and(|b| b.eq_ignore_ascii_case(name))
        })
    });
    if recording_on {
        facts.entra_rdp_vms = entra_rdp_vms(ports, arm, host, now).await;
    }
    let Some(source) = source else {
        return (facts, true);
    };
    let recorded = super::identities::remember(
        ports,
        &facts,
        (host, source),
        targeted.is_some(),
        principal.as_deref(),
        now,
    )
    .await;
    // Never a subscription-wide list: that needs read on every account of the subscription.
    let Some(account) = settings.account_id(source.account()) else {
        facts.unknown_account = Some(source.account().to_owned());
        return (facts, recorded);
    };
    let writable = async {
        match (targeted, principal) {
            (Some(_), Some(p)) => {
                Some(may_write((arm, shared), account, &source.container, &p).await)
            }
            _ => None,
        }
    };
    let blob_diagnostics = async {
        if custody {
            let svc = format!("{}/blobServices/default", account.trim_end_matches('/'));
            Some(once(&shared.diagnostics, &[&svc], arm.diagnostic_settings(&svc)).await)
        } else {
            None
        }
    };
    let (of_account, of_container) = ([account], [account, &source.container]);
    let (svc, container, writable, blob_diagnostics) = tokio::join!(
        once(
            &shared.blob_services,
            &of_account,
            arm.blob_service(account)
        ),
        once(
            &shared.containers,
            &of_container,
            arm.container(account, &source.container)
        ),
        writable,
        blob_diagnostics
    );
    facts.blob_diagnostics = blob_diagnostics;
    facts.blob_service = Some(svc);
    facts.container = Some(container);
    facts.target_writable = writable;
    (facts, recorded)
}

/// The blob write data action Bastion's identity needs on its target.
const BLOB_WRITE: &str = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write";

/// True when a role assignment of `principal` at or above `container` grants the blob write.
async fn may_write(
    (arm, shared): (&dyn ResourceManager, &Reads),
    account: &str,
    container: &str,
    principal: &str,
) -> Result<bool, crate::azure::AzureError> {
    let key = [account, container, principal];
    let read = arm.role_assignments(account, container, principal);
    let assignments = once(&shared.assignments, &key, read).await?;
    let container_scope =
        format!("{account}/blobServices/default/containers/{container}").to_ascii_lowercase();
    let mut definitions: Vec<String> = assignments
        .iter()
        .filter(|a| {
            // At or above the container (an assignment below it does not reach the container).
            a.properties.scope.as_deref().is_none_or(|s| {
                container_scope.starts_with(&s.trim_end_matches('/').to_ascii_lowercase())
            })
        })
        .filter_map(|a| a.properties.role_definition_id.clone())
        .collect();
    definitions.sort();
    definitions.dedup();
    for id in definitions {
        let read = arm.role_definition(account, &id);
        if once(&shared.definitions, &[account, &id], read)
            .await?
            .allows_data(BLOB_WRITE)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Most VMs one check asks about per host.
const ENTRA_VMS: usize = 10;
/// The extension a Windows VM signs users in with Microsoft Entra ID through.
const ENTRA_EXTENSION: &str = "AADLoginForWindows";

/// The VMs of this host's RDP sessions of the last day with [`ENTRA_EXTENSION`] (at most
/// [`ENTRA_VMS`]); `None` when the live-session table could not be read.
async fn entra_rdp_vms(
    ports: &Ports,
    arm: &dyn ResourceManager,
    host: &str,
    now: OffsetDateTime,
) -> crate::estate::findings::Part<Vec<String>> {
    let since = crate::dates::format_utc_millis(now - time::Duration::days(1));
    let rows = match super::live::rdp_targets(ports.tables.as_ref(), host, &since).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "live sessions not read for the Entra ID check");
            return None;
        }
    };
    let mut found = Vec::new();
    for vm in rows.into_iter().take(ENTRA_VMS) {
        match arm.vm_extension(&vm, ENTRA_EXTENSION).await {
            Ok(true) => found.push(crate::arm::resource_name(&vm).to_owned()),
            Ok(false) => {}
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(found))
}

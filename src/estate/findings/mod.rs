//! The estate findings of one Bastion host, decided from what Resource Manager answered (pure): a
//! part not read is a `check-failed:<part>` finding, and what it decides keeps its last state.

mod checks;
pub mod model;

pub use super::level::Level;
pub use checks::{cors_gap, target_of};
pub use model::{Evaluation, Finding, HostFacts, Part, Sinks, failure};

/// Decides the findings of one host.
pub fn evaluate(facts: &HostFacts, sinks: &Sinks) -> Evaluation {
    let mut ev = Evaluation::default();
    let at = facts.at;
    let mut dns = None;
    let mut recording = None;
    if let Some(h) = ev.part("host", &facts.host, at) {
        let p = &h.properties;
        let sku = h.sku_name();
        ev.decide_value("sku-not-premium", "sku.name", sku, "Premium");
        ev.decide("recording-off", !p.enable_session_recording, || {
            "enableSessionRecording is false".into()
        });
        ev.decide("native-client-on", p.enable_tunneling, || {
            "enableTunneling is true: native-client sessions are never recorded".into()
        });
        ev.decide("shareable-link-on", p.enable_shareable_link, || {
            "enableShareableLink is true".into()
        });
        ev.decide("ip-connect-on", p.enable_ip_connect, || {
            "enableIpConnect is true".into()
        });
        let state = p.provisioning_state.as_deref().unwrap_or_default();
        ev.decide_value("not-succeeded", "provisioningState", state, "Succeeded");
        dns = p.dns_name.clone().filter(|d| !d.trim().is_empty());
        checks::target(&mut ev, h, &facts.watched);
        recording = Some(p.enable_session_recording);
    }
    match recording {
        Some(true) => {
            checks::writable(&mut ev, facts);
            if let Some(vms) = ev.optional_part("entra-rdp", &facts.entra_rdp_vms, at) {
                ev.decide("entra-rdp-recording", !vms.is_empty(), || {
                    format!(
                        "RDP sessions of this host went to VM(s) signing users in with Microsoft Entra ID ({}): Microsoft documents that Entra ID authentication for RDP in the portal cannot be used together with graphical session recording",
                        vms.join(", ")
                    )
                });
            }
        }
        // Nothing is recorded: what only matters while recording is cleared.
        Some(false) => {
            let cleared = [
                "recording-target-not-writable",
                "entra-rdp-recording",
                "check-failed:recording-access",
                "check-failed:entra-rdp",
            ];
            ev.assessed.extend(cleared.map(str::to_owned));
        }
        None => {}
    }
    let trail = ev.part("audit-trail", &facts.audit_trail, at).cloned();
    if let Some(settings) = ev.part("diagnostics", &facts.diagnostics, at) {
        checks::audit_logs(&mut ev, settings, sinks, trail.as_ref());
    }
    if let Some(settings) = ev.part("blob-diagnostics", &facts.blob_diagnostics, at) {
        checks::custody_logs(&mut ev, settings, sinks);
    }
    ev.decide(
        "recording-account-unknown",
        facts.unknown_account.is_some(),
        || {
            format!(
                "the resource id of recording account {} is not in {}: versioning, immutability and CORS are not checked",
                facts.unknown_account.as_deref().unwrap_or_default(),
                super::settings::RECORDING_ACCOUNTS
            )
        },
    );
    if let Some(svc) = ev.part("blob-service", &facts.blob_service, at) {
        let p = &svc.properties;
        ev.decide("container-versioning", p.is_versioning_enabled, || {
            "blob versioning is on in the recording account (Bastion recording needs it off)".into()
        });
        if let Some(dns) = &dns {
            let gap = cors_gap(&p.cors.cors_rules, dns);
            ev.decide("cors-missing", gap.is_some(), || gap.unwrap_or_default());
        }
    }
    if let Some(c) = ev.part("container", &facts.container, at) {
        let p = &c.properties;
        let worm = p
            .immutable_storage_with_versioning
            .as_ref()
            .is_some_and(|e| e.enabled);
        ev.decide(
            "container-immutability",
            p.has_immutability_policy || worm,
            || {
                "the recording container has an immutability policy (Bastion recording needs none)"
                    .into()
            },
        );
    }
    ev
}

#[cfg(test)]
mod tests;

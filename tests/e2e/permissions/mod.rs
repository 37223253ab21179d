//! Permission drift: every storage operation the functions perform, held against the roles
//! `infra/modules` assigns on that scope — and every role held against the operations that need it.
//!
//! [`exercise`] runs every function (and the `handler backfill` tool, the heartbeat flush and a
//! quarantine write) over recording stores; [`record`] files each call as (connection, container /
//! table service / queue, REST operation) under the function that made it, using the one mapping in
//! `permissions`. [`bicep`] reads the role assignments of the access modules; built-in
//! roles resolve to their documented actions through [`roles`]. Then, per scope:
//! - an operation no reaching role allows → failure naming the functions, the operation and the
//!   Bicep file;
//! - a custom-role action no operation uses, or a built-in role that neither an operation nor the
//!   Functions host (documented needs, with the source) requires → failure (least privilege);
//! - a container of the app account the code uses that `storage.bicep` does not create → failure.

mod arm;
mod bicep;
mod check;
mod exercise;
mod record;
mod rig;
mod roles;
mod tables;

use std::collections::{BTreeMap, BTreeSet};

use bastion_recordings::permissions::Operation;

use self::check::{app_containers, drift, infra};
use self::record::{APP, BASTION, RECORDINGS, Resource, Seen};
use self::roles::RoleTable;

#[tokio::test]
async fn infra_grants_exactly_what_the_functions_use() {
    let rx = crate::notify::Receiver::start().await;
    let ex = exercise::exercise(&format!("{}{}", rx.base, crate::notify::HOOK)).await;
    assert!(
        !rx.hits(crate::notify::HOOK).is_empty(),
        "NotifyWebhook delivered nothing"
    );
    let functions: BTreeSet<String> = crate::drift::functions()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let ran: BTreeSet<String> = ex.ran.iter().cloned().collect();
    let missing: Vec<_> = functions.difference(&ran).collect();
    assert!(
        missing.is_empty(),
        "functions not exercised by the permission test: {missing:?}"
    );
    // The containers the exercise uses are the ones main.bicep scopes the custom roles to when a
    // source entry names no container.
    let main = std::fs::read_to_string(format!("{}/infra/main.bicep", env!("CARGO_MANIFEST_DIR")))
        .expect("main.bicep");
    for name in [exercise::RECORDINGS_CONTAINER, exercise::AUDIT_CONTAINER] {
        let decl = format!("container: s.?container ?? '{name}'");
        assert!(main.contains(&decl), "main.bicep: want `{decl}`");
    }
    let table = RoleTable::load();
    let problems = drift(
        &ex.seen,
        &infra(&table, &|_, t| t),
        &table,
        &app_containers(),
    );
    let mut summary = String::new();
    for ((conn, res), ops) in &ex.seen {
        let ops: Vec<&str> = ops.keys().map(|o| o.name()).collect();
        summary.push_str(&format!("\n  {conn} {res}: {}", ops.join(", ")));
    }
    assert!(
        problems.is_empty(),
        "permission drift:\n  {}\nexercised:{summary}",
        problems.join("\n  ")
    );
    graph_is_granted(&ex.graph);
    let tables = tables::drift(&ex.queries, &tables::granted(&main));
    assert!(
        tables.is_empty(),
        "table read drift:\n  {}",
        tables.join("\n  ")
    );
    let sent: std::collections::BTreeSet<&str> = ex.queries.iter().map(|q| q.0.as_str()).collect();
    for f in ["AuditLogQuery", "EstateCheck", "CustodyActor"] {
        assert!(
            sent.contains(f),
            "{f} sent no Logs Query API query: {sent:?}"
        );
    }
}

/// Every Microsoft Graph request is an operation the mapping knows, and the application permission
/// it needs is the one infra grants: Bicep cannot assign a Graph app role, so infra/README.md's
/// command (its app role id) and main.bicep's `graphEndpoint` are the grant.
fn graph_is_granted(requests: &[(String, String)]) {
    use bastion_recordings::permissions::graph::GraphOperation;
    assert!(
        !requests.is_empty(),
        "ReviewQueue resolved no person through Graph"
    );
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/infra/README.md")).expect("README");
    let main = std::fs::read_to_string(format!("{root}/infra/main.bicep")).expect("main.bicep");
    assert!(
        main.contains("graphEndpoint: graphEndpoint"),
        "main.bicep passes no graphEndpoint"
    );
    let ops: std::collections::BTreeSet<_> = (requests.iter())
        .filter_map(|(m, p)| GraphOperation::of_request(m, p))
        .collect();
    assert!(
        ops.contains(&GraphOperation::ListGroupAssignmentInstances),
        "EstateCheck read no PIM for Groups membership through Graph: {requests:?}"
    );
    assert!(
        ops.contains(&GraphOperation::ListTransitiveMembers),
        "EstateCheck read no group's members through Graph: {requests:?}"
    );
    for (method, path) in requests {
        let op = GraphOperation::of_request(method, path).unwrap_or_else(|| {
            panic!("a Graph request no permission mapping knows: {method} {path}")
        });
        let (name, permission, role) = op.spec();
        let granted = readme.contains(role) && readme.contains(permission);
        assert!(
            granted,
            "{name} ({method} {path}) needs {permission} (app role {role}), which infra/README.md does not grant"
        );
    }
}

/// A record of the given (connection, resource, operation, function) calls.
fn seen_of(calls: &[(&str, Resource, Operation, &str)]) -> Seen {
    let mut seen: Seen = BTreeMap::new();
    for (conn, res, op, f) in calls {
        seen.entry(((*conn).to_owned(), res.clone()))
            .or_default()
            .entry(*op)
            .or_default()
            .insert((*f).to_owned());
    }
    seen
}

// The checker itself must be able to fail, both ways, naming both sides.
#[test]
fn drift_reports_missing_and_unused_grants_naming_both_sides() {
    use Operation as O;
    let table = RoleTable::load();
    let rec = || Resource::Container(exercise::RECORDINGS_CONTAINER.into());
    let calls = [
        (RECORDINGS, rec(), O::GetBlob, "RecordingHash"),
        (
            RECORDINGS,
            Resource::Container("recordings-archive".into()),
            O::PutBlob,
            "RecordingCreated",
        ),
        (
            APP,
            Resource::Container("scratch".into()),
            O::PutBlob,
            "Reconcile",
        ),
    ];
    let grants = infra(&table, &|_, t| t);
    let found = drift(&seen_of(&calls), &grants, &table, &app_containers()).join("\n");
    for needle in [
        "RecordingCreated perform Put Blob (Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write) on RECORDINGS_STORAGE container recordings-archive, which no role in infra/modules/recordings-access.bicep grants",
        "infra/modules/recordings-access.bicep grants Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write",
        "which no function uses",
        "infra/modules/auditlogs-access.bicep grants Microsoft.Storage/storageAccounts/blobServices/containers/blobs/filter/action",
        "infra/modules/recordings-access.bicep assigns Storage Blob Delegator on the RECORDINGS_STORAGE account (if grantDelegator), which neither a function nor the Functions host needs",
        "Reconcile use container scratch of AzureWebJobsStorage, which infra/modules/storage.bicep does not create",
    ] {
        assert!(found.contains(needle), "missing `{needle}` in:\n{found}");
    }
    // Removing a grant: the same call is then refused, naming the call and the file.
    let tags = [(RECORDINGS, rec(), O::SetBlobTags, "RetentionSweep")];
    let without = infra(&table, &|f, t| {
        if f == "recordings-access.bicep" {
            t.replace(
                "  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write'\n",
                "",
            )
        } else {
            t
        }
    });
    let found = drift(&seen_of(&tags), &without, &table, &app_containers()).join("\n");
    assert!(found.contains("RetentionSweep perform Set Blob Tags (Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write) on RECORDINGS_STORAGE container recordings, which no role in infra/modules/recordings-access.bicep grants"), "{found}");
    // A host need nobody assigns.
    let no_owner = infra(&table, &|f, t| {
        if f == "app-access.bicep" {
            t.replace("roles.blobDataOwner, ", "")
        } else {
            t
        }
    });
    let found = drift(&Seen::new(), &no_owner, &table, &app_containers()).join("\n");
    assert!(
        found.contains(
            "the Functions host needs Storage Blob Data Owner on the AzureWebJobsStorage account"
        ),
        "{found}"
    );
}

// Every Resource Manager call is held against the grants too: without its action, refused by name.
#[test]
fn a_resource_manager_call_without_its_grant_is_drift() {
    use bastion_recordings::permissions::ArmOperation as A;
    let table = RoleTable::load();
    let host = || Resource::BastionHost;
    let calls = [
        (BASTION, host(), A::GetActiveSessions.into(), "LiveSessions"),
        (
            BASTION,
            host(),
            A::DisconnectActiveSessions.into(),
            "disconnect",
        ),
        (
            RECORDINGS,
            Resource::Account,
            A::ReadBlobService.into(),
            "EstateCheck",
        ),
        (
            BASTION,
            Resource::Subscription,
            A::ReadOperationResult.into(),
            "LiveSessions",
        ),
        (
            BASTION,
            Resource::BypassSubscription,
            A::ListNetworkInterfaces.into(),
            "EstateCheck",
        ),
        (
            BASTION,
            Resource::Subscription,
            A::ListSubscriptionDiagnosticSettings.into(),
            "EstateCheck",
        ),
        (
            BASTION,
            Resource::Subscription,
            A::ListVirtualMachines.into(),
            "EstateCheck",
        ),
        (
            BASTION,
            Resource::BypassSubscription,
            A::ReadJitPolicy.into(),
            "EstateCheck",
        ),
    ];
    let without = infra(&table, &|f, t| match f {
        // The poll's permission moved onto the host: the wrong scope for a URL under the subscription.
        "bastion-operations-access.bicep" => t.replace(
            "  'Microsoft.Network/locations/operationResults/read'\n",
            "",
        ),
        "bastion-access.bicep" => t.replace(
            "  'Microsoft.Network/bastionHosts/getactivesessions/action'\n",
            "  'Microsoft.Network/locations/operationResults/read'\n",
        ),
        "recordings-settings-access.bicep" => t.replace(
            "  'Microsoft.Storage/storageAccounts/blobServices/read'\n",
            "",
        ),
        // A whole subscription's NIC list, granted only on resource groups; its just-in-time
        // policies read with the session targets' grant only (another kind of scope).
        "bypass-scopes-access.bicep" => t
            .replace("  'Microsoft.Network/networkInterfaces/read'\n", "")
            .replace(
                "  'Microsoft.Security/locations/jitNetworkAccessPolicies/read'\n",
                "",
            ),
        // A subscription's own diagnostic settings, granted nowhere.
        "activity-log-settings-access.bicep" => t
            .replace("  'Microsoft.Insights/diagnosticSettings/read'\n", "")
            .replace("  'Microsoft.Compute/virtualMachines/read'\n", ""),
        _ => t,
    });
    let found = drift(&seen_of(&calls), &without, &table, &app_containers()).join("\n");
    for needle in [
        "LiveSessions perform Get active sessions (Microsoft.Network/bastionHosts/getactivesessions/action) on BASTION_HOSTS the host, which no role in infra/modules/bastion-access.bicep grants",
        "EstateCheck perform Get blob service properties (Microsoft.Storage/storageAccounts/blobServices/read) on RECORDINGS_STORAGE the account, which no role in infra/modules/recordings-access.bicep, infra/modules/recordings-settings-access.bicep grants",
        "LiveSessions perform Get a Network operation's result (Microsoft.Network/locations/operationResults/read) on BASTION_HOSTS the subscription, which no role in infra/modules/bastion-operations-access.bicep, infra/modules/activity-log-settings-access.bicep grants",
        "EstateCheck perform List network interfaces (Microsoft.Network/networkInterfaces/read) on BASTION_HOSTS a BYPASS_SCOPES subscription, which no role in infra/modules/bypass-scopes-access.bicep grants",
        "EstateCheck perform List subscription diagnostic settings (Microsoft.Insights/diagnosticSettings/read) on BASTION_HOSTS the subscription, which no role in infra/modules/bastion-operations-access.bicep, infra/modules/activity-log-settings-access.bicep grants",
        // The subscription's VM list (shared accounts' Entra ID login), granted nowhere else there.
        "EstateCheck perform List virtual machines (Microsoft.Compute/virtualMachines/read) on BASTION_HOSTS the subscription, which no role in",
        // Only the estate role's reads are left unused here, not the disconnect action.
        "infra/modules/bastion-access.bicep grants Microsoft.Network/bastionHosts/read",
    ] {
        assert!(found.contains(needle), "missing `{needle}` in:\n{found}");
    }
    assert!(!found.contains("Disconnect active sessions"), "{found}");
    // A just-in-time policy under a BYPASS_SCOPES subscription is held against that subscription's
    // grant alone: the session targets' resource group grant (same action, another kind of
    // scope) does not cover it.
    assert!(
        found.contains("EstateCheck perform Get just-in-time network access policy (Microsoft.Security/locations/jitNetworkAccessPolicies/read) on BASTION_HOSTS a BYPASS_SCOPES subscription, which no role in infra/modules/bypass-scopes-access.bicep grants"),
        "{found}"
    );
}

// The Logs Ingestion upload is held against the rule's grant: without it, refused by name; with it
// and no upload, the role is unused.
#[test]
fn a_logs_ingestion_upload_without_its_grant_is_drift() {
    use self::record::SENTINEL;
    let table = RoleTable::load();
    let calls = [(
        SENTINEL,
        Resource::DataCollectionRule,
        Operation::UploadLogs,
        "SentinelExport",
    )];
    let with = infra(&table, &|_, t| t);
    let found = drift(&seen_of(&calls), &with, &table, &app_containers()).join("\n");
    assert!(!found.contains("SentinelExport"), "{found}");
    let without = infra(&table, &|f, t| {
        if f == "sentinel-access.bicep" {
            t.replace(
                "3913510d-42f4-4e42-8a64-420c390055eb",
                "73c42c96-874c-492b-b04d-ab87d138a893",
            )
        } else {
            t
        }
    });
    let found = drift(&seen_of(&calls), &without, &table, &app_containers()).join("\n");
    assert!(
        found.contains("SentinelExport perform Upload (Logs Ingestion API) (Microsoft.Insights/Telemetry/Write) on SENTINEL_DCR_IMMUTABLE_ID the data collection rule, which no role in infra/modules/sentinel-access.bicep grants"),
        "{found}"
    );
    let unused = drift(&Seen::new(), &with, &table, &app_containers()).join("\n");
    assert!(
        unused.contains("infra/modules/sentinel-access.bicep assigns Monitoring Metrics Publisher on the SENTINEL_DCR_IMMUTABLE_ID data collection rule, which neither a function nor the Functions host needs"),
        "{unused}"
    );
}

/// Modules that assign roles to principals other than the Function App.
const OTHER_PRINCIPALS: [(&str, &str); 1] = [(
    "deadletter-access.bicep",
    "the Event Grid system topic's identity writes dead letters; the app never reads them",
)];

// A new module granting the app something must join the comparison above.
#[test]
fn every_module_that_assigns_roles_is_compared() {
    let dir = format!("{}/infra/modules", env!("CARGO_MANIFEST_DIR"));
    let assigning: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("infra/modules")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| {
            std::fs::read_to_string(format!("{dir}/{f}"))
                .is_ok_and(|t| t.contains("'Microsoft.Authorization/roleAssignments@"))
        })
        .collect();
    let known: BTreeSet<String> = check::MODULES
        .iter()
        .map(|m| m.file)
        .chain(OTHER_PRINCIPALS.iter().map(|(f, _)| *f))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        assigning, known,
        "role-assigning modules vs the permission test's list"
    );
}

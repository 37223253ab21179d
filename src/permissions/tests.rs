//! The mapping's invariants and Azure's wildcard matching.

use super::*;

#[test]
fn every_operation_names_a_documented_permission_of_its_service() {
    let arm = ArmOperation::ALL.map(Operation::from);
    for op in Operation::ALL.into_iter().chain(arm) {
        let (name, service, perms) = op.spec();
        assert!(!name.is_empty() && !perms.is_empty(), "{op:?}");
        let prefixes: &[&str] = match service {
            Service::Blob => &["Microsoft.Storage/storageAccounts/blobServices/"],
            Service::Table => &["Microsoft.Storage/storageAccounts/tableServices/tables/"],
            Service::Queue => &["Microsoft.Storage/storageAccounts/queueServices/queues/"],
            Service::LogAnalytics => &[
                "Microsoft.OperationalInsights/workspaces/query/",
                "Microsoft.OperationalInsights/workspaces/tables/data/",
            ],
            Service::LogsIngestion => &["Microsoft.Insights/Telemetry/"],
            // Control-plane actions: no data action, and only of the providers the checks read.
            Service::ResourceManager => &[
                "Microsoft.Network/bastionHosts/",
                "Microsoft.Network/locations/",
                "Microsoft.Insights/diagnosticSettings/",
                "Microsoft.Authorization/roleAssignments/",
                "Microsoft.Authorization/roleDefinitions/",
                "Microsoft.Authorization/roleAssignmentScheduleInstances/read",
                "Microsoft.Authorization/roleAssignmentScheduleRequests/read",
                "Microsoft.Compute/virtualMachines/extensions/",
                "Microsoft.Compute/virtualMachines/read",
                "Microsoft.Network/networkInterfaces/",
                "Microsoft.Network/networkSecurityGroups/",
                "Microsoft.Network/virtualNetworks/",
                "Microsoft.Security/locations/jitNetworkAccessPolicies/read",
                "Microsoft.Storage/storageAccounts/",
                "Microsoft.OperationalInsights/workspaces/",
            ],
        };
        let ok = |p: &&str| prefixes.iter().any(|x| p.starts_with(x));
        assert!(perms.iter().all(ok), "{op:?}");
    }
}

#[test]
fn wildcards_match_like_azure() {
    let owner = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*";
    assert!(Operation::SetBlobTags.allowed_by(owner));
    assert!(!Operation::CreateContainer.allowed_by(owner));
    assert!(
        Operation::CreateContainer
            .allowed_by("Microsoft.Storage/storageAccounts/blobServices/containers/*")
    );
    assert!(
        Operation::DeleteBlob
            .allowed_by("microsoft.storage/storageaccounts/blobservices/containers/blobs/delete")
    );
    assert!(
        !Operation::DeleteBlob
            .allowed_by("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read")
    );
    assert!(matches("a*c*e", "abcde") && !matches("a*c*e", "abcdf"));
    assert!(matches("*", "anything") && !matches("ab", "abc"));
    assert!(matches("a*a", "aa") && !matches("a*a", "a"));
}

//! The mapping's invariants and Azure's wildcard matching.

use super::*;

#[test]
fn every_operation_names_a_documented_permission_of_its_service() {
    for op in Operation::ALL {
        let (name, service, perms) = op.spec();
        assert!(!name.is_empty() && !perms.is_empty(), "{op:?}");
        let prefix = match service {
            Service::Blob => "Microsoft.Storage/storageAccounts/blobServices/",
            Service::Table => "Microsoft.Storage/storageAccounts/tableServices/tables/",
            Service::Queue => "Microsoft.Storage/storageAccounts/queueServices/queues/",
            Service::LogAnalytics => "Microsoft.OperationalInsights/workspaces/query/",
        };
        assert!(perms.iter().all(|p| p.starts_with(prefix)), "{op:?}");
    }
}

#[test]
fn only_the_delegation_key_is_account_wide() {
    assert!(Operation::GetUserDelegationKey.account_wide());
    assert!(!Operation::DeleteBlob.account_wide());
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

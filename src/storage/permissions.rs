//! The Azure RBAC data action each blob operation of the port needs: what a role assignment must
//! grant on the container for the call not to be refused with 403 under managed identity.
//!
//! Actions as documented for the Blob service operations (Microsoft Learn, "Authorize access to
//! blobs using Microsoft Entra ID"): reading properties, ranges and listings is `blobs/read`;
//! Find Blobs by Tags is `blobs/filter/action`; tags have their own read and write actions.

use super::intercept::Call;

const PREFIX: &str = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/";

/// The data action `call` needs, without the common prefix (`read`, `tags/write`, …).
pub fn action(call: &Call<'_>) -> &'static str {
    match call {
        Call::Properties(_) | Call::ReadRange(_) | Call::List(_) => "read",
        Call::GetTags(_) => "tags/read",
        Call::SetTags(_) => "tags/write",
        Call::FindByTags(_) => "filter/action",
        Call::DeleteIfMatch(_) | Call::DeleteGuarded(_) => "delete",
        Call::Put(_) | Call::CreateAppend(_) | Call::Append(_) => "write",
    }
}

/// The full data action name of `call`.
pub fn data_action(call: &Call<'_>) -> String {
    [PREFIX, action(call)].concat()
}

/// The container `call` addresses.
pub fn container<'a>(call: &Call<'a>) -> &'a str {
    match call {
        Call::List(c) | Call::FindByTags(c) => c,
        Call::Properties(b)
        | Call::ReadRange(b)
        | Call::GetTags(b)
        | Call::SetTags(b)
        | Call::DeleteIfMatch(b)
        | Call::DeleteGuarded(b)
        | Call::Put(b)
        | Call::CreateAppend(b)
        | Call::Append(b) => &b.container,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::BlobRef;

    #[test]
    fn every_call_maps_to_a_documented_action() {
        let b = BlobRef::new("c", "n");
        assert_eq!(
            data_action(&Call::FindByTags("c")),
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/filter/action"
        );
        for (call, want) in [
            (Call::Properties(&b), "read"),
            (Call::List("c"), "read"),
            (Call::GetTags(&b), "tags/read"),
            (Call::SetTags(&b), "tags/write"),
            (Call::DeleteGuarded(&b), "delete"),
            (Call::Append(&b), "write"),
        ] {
            assert_eq!(action(&call), want, "{call:?}");
            assert_eq!(container(&call), "c");
        }
    }
}

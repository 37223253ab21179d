//! Synthetic recordings for the `handler-in-memory` binary (`HANDLER_IN_MEMORY_SEED`): benchmarks
//! and protocol demos need blobs to exist before their events arrive.

use bytes::Bytes;

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};

/// Puts an empty blob into `container` for every name in `spec`: comma-separated entries, each a
/// blob name, or `<prefix>:<count>` for `count` blobs named `<prefix><n>`. Returns how many puts
/// failed (none, for the in-memory store this serves).
pub async fn seed(store: &dyn BlobStore, container: &str, spec: &str) -> usize {
    let (mut failed, metadata) = (0, Metadata::new());
    for name in names(spec) {
        let blob = BlobRef::new(container.to_owned(), name);
        let put = store.put(&blob, Bytes::new(), "application/octet-stream", &metadata);
        failed += usize::from(put.await.is_err());
    }
    failed
}

fn names(spec: &str) -> impl Iterator<Item = String> + '_ {
    spec.split(',')
        .filter(|e| !e.is_empty())
        .flat_map(|entry| match entry.rsplit_once(':') {
            Some((prefix, n)) if n.parse::<usize>().is_ok() => (0..n.parse().unwrap_or(0))
                .map(|i| format!("{prefix}{i}"))
                .collect::<Vec<_>>(),
            _ => vec![entry.to_owned()],
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::storage::memory::InMemoryBlobStore;

    #[tokio::test]
    async fn counted_prefixes_and_plain_names() {
        let store = InMemoryBlobStore::new("acct");
        assert_eq!(seed(&store, "recordings", "w0x:3,,one,odd:x").await, 0);
        let mut names = store.names("recordings");
        names.sort();
        assert_eq!(names, ["odd:x", "one", "w0x0", "w0x1", "w0x2"]);
    }
}

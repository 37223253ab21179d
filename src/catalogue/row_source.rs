//! Where a catalogue row's blob is, and which catalogue key a source's blob gets: the catalogue's
//! side of the watched sources ([`crate::sources`] knows containers, not catalogue rows).

use time::OffsetDateTime;

use crate::catalogue::key::RecordingKey;
use crate::catalogue::recording::Recording;
use crate::sources::{Source, Sources};
use crate::storage::BlobRef;

/// The catalogue key of a source's blob.
pub trait BlobKey {
    /// The catalogue key of blob `name` of this source, created at `created` (the catalogue's
    /// scheme; tombstones use it for audit logs too).
    fn key(&self, created: OffsetDateTime, name: &str) -> RecordingKey;
}

impl BlobKey for Source {
    fn key(&self, created: OffsetDateTime, name: &str) -> RecordingKey {
        RecordingKey::for_source_blob(created, self.account(), &self.container, name)
    }
}

/// The recording source of a catalogue row.
pub trait RowSource {
    /// The recording source a catalogue row belongs to.
    fn of_row(&self, row: &Recording) -> Option<&Source>;

    /// The source and blob of a catalogue row, or why there is none (its source is not configured).
    ///
    /// # Errors
    /// The sentence naming the row and where it is.
    fn blob_of_row(&self, row: &Recording) -> Result<(&Source, BlobRef), String>;
}

impl RowSource for Sources {
    fn of_row(&self, row: &Recording) -> Option<&Source> {
        self.recording(&row.account, &row.container)
    }

    fn blob_of_row(&self, row: &Recording) -> Result<(&Source, BlobRef), String> {
        let source = self.of_row(row).ok_or_else(|| {
            format!(
                "recording {} is in {}/{}, which is not a configured recordings source",
                row.key.id(),
                row.account,
                row.container
            )
        })?;
        Ok((source, source.blob(row.blob_name.clone())))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::testkit::DefaultSources;
    use crate::testkit::storage::memory::InMemoryBlobStore;

    #[test]
    fn the_default_sources_keys_carry_their_account() {
        let source = |a: &str, c: &str| Source::new(Arc::new(InMemoryBlobStore::new(a)), c);
        let sources = Sources::single(source("acct", "recordings"), source("logs", "insights"));
        let t = time::macros::datetime!(2025-03-14 23:00 UTC);
        let key = sources.default_recordings().key(t, "a/b.mp4");
        let path = key.blob().expect("spelled out");
        assert_eq!(path.account, "acct");
    }
}

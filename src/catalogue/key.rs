//! Catalogue keys. Table `recordings` is keyed by the blob's creation day (stable for its life, so
//! every time-bounded query reads a range of partitions) and base64url(`account:container/blob`),
//! or a digest past the 1 KiB key limit. The scheme is in docs/catalogue.md.

use time::OffsetDateTime;

use crate::dates::format_date;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, decode_key, is_digest, is_valid_key, key};

/// The address of a catalogue row; its text form `YYYY-MM-DD~<rowkey>` is the public recording id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordingKey {
    /// Creation day.
    pub pk: String,
    /// base64url(`account:container/blob`), or `sha256.<hex>` for a path too long for a key.
    pub rk: String,
}

/// Where a key's blob lives, as the key spells it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    /// The storage account.
    pub account: String,
    /// Container.
    pub container: String,
    /// Blob name.
    pub name: String,
}

impl RecordingKey {
    /// The key of `container/blob` of `account`, created at `created`.
    pub fn for_source_blob(
        created: OffsetDateTime,
        account: &str,
        container: &str,
        blob: &str,
    ) -> Self {
        let path = [account, ":", container, "/", blob].concat();
        let rk = key(&path, Spelling::Encoded, MAX_KEY_BYTES);
        Self {
            pk: format_date(created.date()),
            rk,
        }
    }

    /// The public id.
    pub fn id(&self) -> String {
        [self.pk.as_str(), "~", &self.rk].concat()
    }

    /// The public id as (part of) a table key leaving it `room` bytes, through the one encoder
    /// ([`key`]): a digest where it does not fit; rows keyed so carry the id in `RecordingId`.
    pub fn id_key(&self, room: usize) -> String {
        key(&self.id(), Spelling::Verbatim, room)
    }

    /// The recording a row keyed by [`id_key`](Self::id_key) names (its `RecordingId`).
    pub fn of_row(e: &crate::tables::Entity) -> Option<Self> {
        crate::tables::get_str(e, "RecordingId").and_then(Self::parse)
    }

    /// Parses a public id.
    pub fn parse(id: &str) -> Option<Self> {
        let (pk, rk) = id.split_once('~')?;
        let valid_day = pk.len() == 10
            && pk.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        // A key the service would refuse names no stored row: a 400, never a failed storage call.
        let valid_key = is_digest(rk) || (is_valid_key(rk) && decode_key(rk).is_some());
        (valid_day && valid_key).then(|| Self {
            pk: pk.to_owned(),
            rk: rk.to_owned(),
        })
    }

    /// True when the key is a digest: the blob is named only by the row.
    pub fn is_hashed(&self) -> bool {
        is_digest(&self.rk)
    }

    /// The blob this key spells out; `None` for a digest key (read the row's `Account`,
    /// `Container` and `BlobName`) or a key that is not ours.
    pub fn blob(&self) -> Option<KeyPath> {
        if self.is_hashed() {
            return None;
        }
        let path = decode_key(&self.rk)?;
        let (head, name) = path.split_once('/')?;
        let (account, container) = head.split_once(':')?;
        Some(KeyPath {
            account: account.to_owned(),
            container: container.to_owned(),
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn keys_round_trip_and_reject_garbage() {
        let k = RecordingKey::for_source_blob(
            datetime!(2025-03-14 23:00 UTC),
            "acct",
            "recordings",
            "a/b=c/PLACEHOLDER-1",
        );
        assert_eq!(k.pk, "2025-03-14");
        assert_eq!(RecordingKey::parse(&k.id()), Some(k.clone()));
        assert_eq!(
            k.blob(),
            Some(KeyPath {
                account: "acct".into(),
                container: "recordings".into(),
                name: "a/b=c/PLACEHOLDER-1".into()
            })
        );
        for bad in [
            "",
            "2025-03-14",
            "2025-3-14~YQ",
            "abcd-ef-gh~YQ",
            "2025-03-14~!!",
        ] {
            assert_eq!(RecordingKey::parse(bad), None, "{bad}");
        }
        let too_long = format!("2025-03-14~{}", "A".repeat(2000));
        assert_eq!(
            RecordingKey::parse(&too_long),
            None,
            "longer than a table key"
        );
    }

    #[test]
    fn other_sources_carry_their_account_and_long_paths_are_digested() {
        let t = datetime!(2025-03-14 23:00 UTC);
        let own = RecordingKey::for_source_blob(t, "stneu", "recordings", "a:b/c");
        let other = RecordingKey::for_source_blob(t, "stweu", "recordings", "a:b/c");
        assert_ne!(own, other, "two accounts, one name: two rows");
        let path = own.blob().expect("spelled out");
        assert_eq!(path.account, "stneu");
        assert_eq!(
            (path.container.as_str(), path.name.as_str()),
            ("recordings", "a:b/c")
        );

        let name = "n".repeat(1024);
        let long = RecordingKey::for_source_blob(t, "stneu", "recordings", &name);
        assert!(long.is_hashed() && long.blob().is_none(), "{long:?}");
        assert!(is_valid_key(&long.rk) && long.rk.len() == 71);
        assert_eq!(RecordingKey::parse(&long.id()), Some(long.clone()));
        let other = RecordingKey::for_source_blob(t, "stweu", "recordings", &name);
        assert_ne!(long, other, "the account is part of the digest");
        assert_eq!(RecordingKey::parse("2025-03-14~sha256.XYZ"), None);
    }
}

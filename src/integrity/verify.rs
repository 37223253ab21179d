//! Re-verification of recorded digests: gone before retain-until → `recording.missing`; content
//! or size differing → `recording.tampered` (recordings are write-once); unhashed rows counted.

use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::blob::blob_of;
use super::hash::{CHUNK, hash_blob};
use crate::azure::AzureError;
use crate::catalogue::recording::{Hash, Recording};
use crate::catalogue::row_source::RowSource;
use crate::dates::format_date;
use crate::dates::format_utc;
use crate::ports::Ports;
use crate::spine::kinds::{RECORDING_MISSING, RECORDING_TAMPERED};
use crate::spine::{Finding, Severity};

/// What one row's check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Content and size match.
    Intact,
    /// No digest recorded yet.
    Unhashed,
    /// Blob deleted legitimately (sweep status, or past retain-until).
    Expired,
    /// A finding to report.
    Finding(Finding),
}

/// Which rows a run checks: all, or a deterministic 1-in-`n` sample salted per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sample {
    /// Every row.
    All,
    /// Rows whose salted digest falls in one bucket of `n`.
    OneIn(u32, String),
}

impl Sample {
    /// True when the row with public id `id` is in the sample.
    pub fn picks(&self, id: &str) -> bool {
        match self {
            Self::All => true,
            // One in n by the top 32 bits of the rank.
            Self::OneIn(n, salt) => (rank(salt, id) >> 32).is_multiple_of(u64::from((*n).max(1))),
        }
    }
}

/// Verifies one catalogue row.
///
/// # Errors
/// Storage failures (reported by the caller; a run continues with the next row).
pub async fn verify(
    ports: &Ports,
    entry: &Recording,
    now: OffsetDateTime,
) -> Result<Verdict, AzureError> {
    let id = entry.key.id();
    let Some(Hash {
        sha256: expected,
        length,
        ..
    }) = entry.hash.clone()
    else {
        return Ok(Verdict::Unhashed);
    };
    let (store, blob) = blob_of(ports, entry)?;
    // The portal link of chat notifications, where the source's host is configured by id.
    let host_id = ports
        .sources
        .of_row(entry)
        .and_then(|s| s.bastion_id.clone());
    let finding = |f: Finding| Ok(Verdict::Finding(f.portal(host_id.as_deref())));
    match hash_blob(store, &blob, CHUNK).await {
        Err(AzureError::NotFound) => {
            // A deletion outside retention was reported when it happened (`recording.deleted`).
            let expired = entry.status == "deleted"
                || entry.status == crate::catalogue::recording::STATUS_DELETED_OUTSIDE
                || entry.status == crate::catalogue::recording::STATUS_DELETED_BEFORE
                || (!entry.retain_until.is_empty() && entry.retain_until < format_date(now.date()));
            if expired {
                return Ok(Verdict::Expired);
            }
            finding(Finding::new(
                &RECORDING_MISSING,
                &id,
                format_utc(now),
                Severity::Critical,
                json!({"recordingId": id, "account": entry.account, "bastionHost": entry.source_bastion,
                    "container": entry.container, "blobName": entry.blob_name,
                    "retainUntil": entry.retain_until, "sha256": expected}),
            ))
        }
        Err(e) => Err(e),
        Ok(h) if h.sha256 == expected && h.length == length => Ok(Verdict::Intact),
        Ok(h) => finding(Finding::new(
            &RECORDING_TAMPERED,
            format!("{id}\n{}", h.sha256),
            format_utc(now),
            Severity::Critical,
            json!({"recordingId": id, "account": entry.account, "bastionHost": entry.source_bastion,
                "container": entry.container, "blobName": entry.blob_name,
                "expectedSha256": expected, "expectedLength": length,
                "actualSha256": h.sha256, "actualLength": h.length, "etag": h.etag}),
        )),
    }
}
/// The rank of `id` in a run salted with `salt` (uniform, independent per run).
pub fn rank(salt: &str, id: &str) -> u64 {
    let d = Sha256::digest(format!("{salt}\n{id}").as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

//! Pure decisions of recording ingestion, how cataloguing one event ended ([`Catalogued`]), and
//! the messages a catalogued recording leaves.

use std::borrow::Cow;

use time::OffsetDateTime;

use crate::catalogue::policy::Retention;
use crate::catalogue::recording::{Hold, Recording, RecordingKey, Replaced, STATUS_CATALOGUED};
use crate::dates::format_utc;
use crate::events::event_grid::BlobEvent;
use crate::join::findings;
use crate::sources::Source;
use crate::spine::kinds::{RECORDING_CATALOGUED, RECORDING_REPLACED};
use crate::spine::{Finding, Handled, Severity};
use crate::storage::{BlobProps, BlobRef};

/// How cataloguing one event ended: what it did and found, and the hash request of the content
/// it catalogued.
#[derive(Debug, Default)]
pub struct Catalogued {
    /// What it did and found.
    pub handled: Handled,
    /// For `RecordingHash`: new content (a new row, or a newer state of the blob) is (re-)hashed.
    pub hash: Option<HashRequest<'static>>,
}

impl Catalogued {
    /// Nothing catalogued, for the reason `why`.
    pub(super) fn skipped(why: impl Into<String>) -> Self {
        let mut c = Self::default();
        (c.handled.line, c.handled.skipped) = (why.into(), true);
        c
    }
}

/// GUIDs in the blob name and metadata (lower-case, deduplicated, in order): candidate session keys.
pub fn candidate_keys(blob: &str, props: &BlobProps) -> Vec<String> {
    let mut keys = Vec::new();
    let texts = std::iter::once(blob).chain(
        props
            .metadata
            .iter()
            .flat_map(|(k, v)| [k.as_str(), v.as_str()]),
    );
    for text in texts {
        for guid in find_guids(text) {
            if !keys.contains(&guid) {
                keys.push(guid);
            }
        }
    }
    keys
}

/// Every `8-4-4-4-12` hex GUID in `text`, lower-cased.
pub fn find_guids(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 36 <= b.len() {
        // 36 bytes parse only in the hyphenated `8-4-4-4-12` form.
        let ok = uuid::Uuid::try_parse_ascii(&b[i..i + 36]).is_ok();
        let bounded = |j: Option<&u8>| j.is_none_or(|c| !c.is_ascii_hexdigit());
        if ok && bounded(i.checked_sub(1).and_then(|j| b.get(j))) && bounded(b.get(i + 36)) {
            out.push(text[i..i + 36].to_ascii_lowercase());
            i += 36;
        } else {
            i += 1;
        }
    }
    out
}

/// What a blob an event announced is known by: the event, its source's account and host, its row's
/// key, and now.
#[derive(Debug)]
pub struct Announced<'a> {
    /// The row's key.
    pub key: RecordingKey,
    /// The event.
    pub event: &'a BlobEvent,
    /// The source's storage account.
    pub account: &'a str,
    /// The Bastion host the source is tied to, if any.
    pub bastion: Option<&'a str>,
    /// Now: `FirstSeen` of a new row (a `BlobCreated` whose blob is gone: when it was found gone).
    pub now: OffsetDateTime,
}

/// The row of what `a` announced as its event tells it: the name and the event's facts, no
/// content read, no join, no status.
pub fn event_row(a: &Announced<'_>) -> Recording {
    let data = &a.event.data;
    Recording {
        key: a.key.clone(),
        blob_url: data.url.clone(),
        account: a.account.to_owned(),
        source_bastion: a.bastion.unwrap_or_default().to_owned(),
        container: a.event.container.clone(),
        blob_name: a.event.blob.clone(),
        content_length: data.content_length.unwrap_or_default(),
        content_type: data.content_type.clone().unwrap_or_default(),
        blob_type: data.blob_type.clone().unwrap_or_default(),
        etag: data.e_tag.clone().unwrap_or_default(),
        sequencer: data.sequencer.clone().unwrap_or_default(),
        event_id: a.event.id.clone(),
        blob_created: a.event.time,
        created: None,
        first_seen: a.now,
        retention_class: String::new(),
        retain_until: String::new(),
        candidate_keys: Vec::new(),
        metadata: String::new(),
        status: String::new(),
        joined: None,
        rejoin_at: None,
        hold: Hold::default(),
        shortened: None,
        deletion: None,
        hash: None,
        replaced: None,
        retagged: None,
        actor: None,
        below_min_bytes: None,
        suspect_alerted: None,
        growing: false,
        outside_deletions: Vec::new(),
        writer: None,
    }
}

/// Everything needed to build a row.
#[derive(Debug)]
pub struct EntryInput<'a> {
    /// The event, with the row's key and `FirstSeen` (of an existing row, or now).
    pub announced: Announced<'a>,
    /// The blob.
    pub blob: &'a BlobRef,
    /// Its properties, read now.
    pub props: &'a BlobProps,
    /// Effective retention (after merging with existing tags).
    pub retention: Retention,
    /// `RECORDING_MIN_BYTES`: shorter content vouches for no session.
    pub min_bytes: u64,
}

/// Builds the catalogue row for the current state of the blob.
pub fn derive_entry(i: EntryInput<'_>) -> Recording {
    let (event, props) = (i.announced.event, i.props);
    let blob_type = (props.kind.map(|k| k.as_str().to_owned()))
        .or_else(|| event.data.blob_type.clone())
        .unwrap_or_default();
    // An append blob announced empty is still being written: judged once it stops growing.
    let growing = blob_type == "AppendBlob" && event.data.content_length == Some(0);
    Recording {
        container: i.blob.container.clone(),
        blob_name: i.blob.name.clone(),
        content_length: props.content_length,
        content_type: props
            .content_type
            .clone()
            .or_else(|| event.data.content_type.clone())
            .unwrap_or_default(),
        blob_type,
        etag: props.etag.clone(),
        created: props.created,
        retention_class: i.retention.class,
        retain_until: i.retention.until,
        candidate_keys: candidate_keys(&i.blob.name, props),
        metadata: serde_json::to_string(&props.metadata).unwrap_or_default(),
        status: STATUS_CATALOGUED.to_owned(),
        below_min_bytes: (!growing && props.content_length < i.min_bytes).then_some(i.min_bytes),
        growing,
        ..event_row(&i.announced)
    }
}

/// The row for a newer state of a blob: facts, retention and join from `fresh`; what the
/// catalogue recorded of its life (first seen, holds, sweep marks, digest) from `cur`, and its
/// join too when `fresh` replaces its content (the session it was recorded for stays its own).
pub fn newer_state(cur: &Recording, fresh: &Recording) -> Recording {
    let replaced = cur.replaced.clone().or_else(|| replaced_by(cur, fresh));
    // A replaced recording keeps the session its content had (the join keeps it too).
    let joined = match &cur.joined {
        Some(j) if replaced.is_some() && j.session.is_some() => Some(j.clone()),
        _ => fresh.joined.clone().or_else(|| cur.joined.clone()),
    };
    Recording {
        first_seen: cur.first_seen,
        joined,
        hold: cur.hold.clone(),
        shortened: cur.shortened.clone(),
        deletion: cur.deletion.clone(),
        hash: cur.hash.clone(),
        replaced,
        retagged: cur.retagged.clone(),
        suspect_alerted: cur.suspect_alerted.clone(),
        outside_deletions: cur.outside_deletions.clone(),
        writer: cur.writer.clone(),
        ..fresh.clone()
    }
}

/// The content `fresh` replaces (another ETag or length over non-empty content, not still being
/// appended to), as the row knew it.
pub fn replaced_by(cur: &Recording, fresh: &Recording) -> Option<Replaced> {
    let other = cur.etag != fresh.etag || cur.content_length != fresh.content_length;
    (other && cur.content_length > 0 && !cur.growing).then(|| Replaced {
        etag: cur.etag.clone(),
        length: cur.content_length,
        sha256: cur
            .hash
            .as_ref()
            .filter(|h| h.etag == cur.etag)
            .map(|h| h.sha256.clone())
            .unwrap_or_default(),
        at: format_utc(fresh.blob_created),
    })
}

/// `recording.replaced` (critical) for a row holding a replacement; one per current ETag.
pub fn replaced_finding(row: &Recording, bastion_id: Option<&str>) -> Option<Finding> {
    let was = row.replaced.as_ref()?;
    let data = serde_json::json!({
        "recordingId": row.id(), "account": row.account, "bastionHost": row.source_bastion,
        "container": row.container, "blobName": row.blob_name, "blobUrl": row.blob_url,
        "expectedSha256": was.sha256, "expectedLength": was.length, "previousEtag": was.etag,
        "actualLength": row.content_length, "etag": row.etag,
        "retentionClass": row.retention_class, "retainUntil": row.retain_until,
        "sessionId": row.sessions(),
    });
    let key = [row.id().as_str(), "\n", &row.etag].concat();
    let at = format_utc(row.blob_created);
    let f = Finding::new(&RECORDING_REPLACED, key, at, Severity::Critical, data);
    Some(f.portal(bastion_id))
}

/// The `recording.catalogued` finding of a new row (the message's public schema, see the README:
/// `bastionHost` and `bastionResourceId`, the portal link of chat notifications, only when its
/// source names them).
pub fn catalogued_finding(entry: &Recording, id: &str, bastion_id: Option<&str>) -> Finding {
    let mut evidence = serde_json::json!({
        "recordingId": id, "account": entry.account, "container": entry.container,
        "blobName": entry.blob_name, "blobUrl": entry.blob_url,
        "contentLength": entry.content_length, "retentionClass": entry.retention_class,
        "retainUntil": entry.retain_until, "candidateKeys": entry.candidate_keys,
    });
    if !entry.source_bastion.is_empty() {
        evidence["bastionHost"] = entry.source_bastion.as_str().into();
    }
    let at = format_utc(entry.blob_created);
    let f = Finding::new(&RECORDING_CATALOGUED, id, at, Severity::Info, evidence);
    f.portal(bastion_id)
        .word("bytes", entry.content_length.to_string())
}

/// The queue message a catalogued recording leaves for `RecordingHash`: its content's hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashRequest<'a> {
    /// Public recording id (`day~rowkey`).
    pub recording_id: Cow<'a, str>,
    /// Container.
    pub container: Cow<'a, str>,
    /// Blob name.
    pub blob_name: Cow<'a, str>,
    /// ETag of the catalogued state.
    pub etag: Cow<'a, str>,
}

/// What a row just written leaves: a new one announced, a replacement alerted, a row this write
/// made suspect alerted, and its content's hash request.
pub fn written(entry: &Recording, source: &Source, updated: bool, replacing: bool) -> Catalogued {
    let id = entry.key.id();
    let bastion = source.bastion_id.as_deref();
    let replaced = replaced_finding(entry, bastion).filter(|_| replacing || !updated);
    let handled = match replaced {
        Some(f) => Handled::done(["replaced recording ", &id].concat()).found([f]),
        None if updated => Handled::done(["updated recording ", &id].concat()),
        None => Handled::done(["catalogued recording ", &id].concat())
            .found([catalogued_finding(entry, &id, bastion)]),
    };
    // A row this write made suspect (marked with its ETag) carries its alert.
    let alerted = entry.suspect_alerted.as_deref() == Some(entry.etag.as_str());
    let suspect = alerted && findings::suspect::is_suspect(entry);
    Catalogued {
        handled: handled.found(suspect.then(|| findings::suspect::finding(entry))),
        hash: Some(HashRequest {
            recording_id: id.into(),
            container: entry.container.clone().into(),
            blob_name: entry.blob_name.clone().into(),
            etag: entry.etag.clone().into(),
        }),
    }
}

#[cfg(test)]
mod tests;

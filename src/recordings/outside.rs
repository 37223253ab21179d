//! Pure decisions on a deletion the product did not make: the row it leaves
//! ([`STATUS_DELETED_OUTSIDE`], or [`STATUS_DELETED_BEFORE`] for a blob gone before the catalogue
//! read it; kept, never removed), its custody trail and its `recording.deleted` notification.

use serde_json::json;

use super::ingest::{Announced, event_row};
use crate::catalogue::recording::{
    Deletion, Recording, STATUS_DELETED, STATUS_DELETED_BEFORE, STATUS_DELETED_OUTSIDE,
};
use crate::catalogue::trail::{self, OutsideDeletion};
use crate::dates::{format_date, format_utc};
use crate::events::event_grid::BlobEvent;
use crate::spine::kinds::RECORDING_DELETED;
use crate::spine::{Finding, Severity};

/// `DeletionReason` of a deletion outside retention.
pub const REASON_OUTSIDE: &str = "outside-retention";

/// True for a row that records a deletion outside the product as its state.
pub fn is_deleted_outside(row: &Recording) -> bool {
    row.status == STATUS_DELETED_OUTSIDE || row.status == STATUS_DELETED_BEFORE
}

/// True when `row` already records the deletion `event` reports (a redelivery, or a concurrent
/// instance that won the write): its outputs are emitted again under the same stable id.
/// The event, or the storage log row of the same request (its request id), saw it first.
pub fn records(row: &Recording, event: &BlobEvent) -> bool {
    let request = event.data.request_id.as_deref().unwrap_or_default();
    let same_request = !request.is_empty()
        && row
            .deletion
            .as_ref()
            .is_some_and(|d| d.request_id.eq_ignore_ascii_case(request));
    is_deleted_outside(row) && (row.event_id == event.id || same_request)
}

/// True when `event` reports a deletion `cur` does not hold yet: a newer state of any row but
/// the sweep's (a row deleted outside can be written again and deleted again before the new
/// content's `BlobCreated` is handled).
pub fn is_new_deletion(cur: &Recording, event: &BlobEvent) -> bool {
    cur.status != STATUS_DELETED && super::created::is_newer(event, cur)
}

/// The row after the deletion `event` reports (the event as its newest state; the rest kept, the
/// deletion added to its custody trail). A row whose content the catalogue never read (gone
/// before it was catalogued, or written again since its last deletion and not catalogued again)
/// records the deletion as before cataloguing.
pub fn deleted_outside(cur: &Recording, event: &BlobEvent) -> Recording {
    let mut r = cur.clone();
    let before = cur.status != crate::catalogue::recording::STATUS_CATALOGUED;
    if cur.status != STATUS_DELETED_BEFORE {
        r.status = STATUS_DELETED_OUTSIDE.to_owned();
    }
    let request_id = event.data.request_id.clone().unwrap_or_default();
    r.deletion = Some(Deletion {
        at: format_utc(event.time),
        reason: REASON_OUTSIDE.to_owned(),
        invocation_id: String::new(),
        request_id: request_id.clone(),
    });
    r.event_id.clone_from(&event.id);
    let sequencer = event.data.sequencer.clone().unwrap_or_default();
    if !sequencer.is_empty() {
        r.sequencer.clone_from(&sequencer);
    }
    let d = OutsideDeletion {
        at: format_utc(event.time),
        request_id,
        sequencer,
        before_catalogued: before,
    };
    r.outside_deletions = trail::record(&cur.outside_deletions, d);
    r
}

/// The row of a blob gone before it was catalogued ([`STATUS_DELETED_BEFORE`]): the name, the
/// event's facts (a `BlobCreated`'s ETag and length), no content read, no join; a `BlobDeleted`
/// records its deletion, a `BlobCreated` one found gone now, completed when its event comes.
pub fn deleted_before(g: &Announced<'_>) -> Recording {
    let event = g.event;
    let mut r = Recording {
        status: STATUS_DELETED_BEFORE.to_owned(),
        ..event_row(g)
    };
    if event.is_created() {
        let at = format_utc(g.now);
        r.deletion = Some(Deletion {
            at: at.clone(),
            reason: REASON_OUTSIDE.to_owned(),
            invocation_id: String::new(),
            request_id: String::new(),
        });
        r.outside_deletions = vec![OutsideDeletion {
            at,
            before_catalogued: true,
            ..OutsideDeletion::default()
        }];
        r
    } else {
        deleted_outside(&r, event)
    }
}

/// The fact: the recording and the deletion's storage request id, which its `BlobDeleted` event
/// and its `StorageBlobLogs` row both carry (one id whichever saw it first); without one (found
/// by the listing) the sequencer, else the event id: each deletion alerts once. A row gone before
/// it was catalogued counts its deletions instead: its first alert may come from a `BlobCreated`
/// that found the blob gone, before the deletion's own event.
pub fn fact(row: &Recording) -> String {
    if row.status == STATUS_DELETED_BEFORE {
        let n = row.outside_deletions.len().to_string();
        return [row.id().as_str(), "\nbefore-catalogued\n", &n].concat();
    }
    let request = row
        .deletion
        .as_ref()
        .map(|d| d.request_id.to_ascii_lowercase())
        .unwrap_or_default();
    let which = if !request.is_empty() {
        &request
    } else if row.sequencer.is_empty() {
        &row.event_id
    } else {
        &row.sequencer
    };
    [row.id().as_str(), "\n", which].concat()
}

/// How it was deleted, for the title: whether it broke a legal hold or came before the retention
/// date.
fn how(row: &Recording, deleted_on: &str) -> String {
    if row.status == STATUS_DELETED_BEFORE {
        return "before it was catalogued".to_owned();
    }
    if row.held() {
        "outside retention while under legal hold".to_owned()
    } else if !row.retain_until.is_empty() && deleted_on <= row.retain_until.as_str() {
        format!(
            "outside retention before its retainUntil {}",
            row.retain_until
        )
    } else {
        "outside retention".to_owned()
    }
}

/// `recording.deleted` (critical) for `row` as [`deleted_outside`] left it.
pub fn deleted_finding(row: &Recording, bastion_id: Option<&str>) -> Finding {
    let at = row
        .deletion
        .as_ref()
        .map(|d| d.at.clone())
        .unwrap_or_default();
    let day = crate::dates::timestamp(&at).map_or_else(String::new, |t| format_date(t.date()));
    let data = json!({
        "recordingId": row.id(), "account": row.account, "bastionHost": row.source_bastion,
        "container": row.container, "blobName": row.blob_name, "blobUrl": row.blob_url,
        "retentionClass": row.retention_class, "retainUntil": row.retain_until,
        "legalHold": row.held(), "deletedAt": at,
        "requestId": row.deletion.as_ref().map(|d| d.request_id.as_str()).unwrap_or_default(),
        "sha256": row.hash.as_ref().map(|h| h.sha256.as_str()).unwrap_or_default(),
        "status": row.status, "sessionId": row.sessions(),
    });
    let f = Finding::new(&RECORDING_DELETED, fact(row), at, Severity::Critical, data);
    f.portal(bastion_id).word("how", how(row, &day))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::catalogue::recording::{RecordingKey, STATUS_CATALOGUED};
    use crate::events::event_grid::BlobEventData;

    fn row() -> Recording {
        let t = datetime!(2025-03-14 09:42:17 UTC);
        Recording {
            blob_url: "https://a.blob.core.windows.net/recordings/x".into(),
            account: "a".into(),
            content_length: 15,
            blob_type: "BlockBlob".into(),
            etag: "0x1".into(),
            sequencer: "01".into(),
            event_id: "created".into(),
            retention_class: "ops-30d".into(),
            retain_until: "2025-04-13".into(),
            status: STATUS_CATALOGUED.into(),
            ..crate::testkit::audit::recording_row("<img src=x>", t)
        }
    }

    fn deleted(at: time::OffsetDateTime) -> BlobEvent {
        BlobEvent {
            id: "del-1".into(),
            event_type: crate::events::event_grid::BLOB_DELETED.into(),
            time: at,
            account: "a".into(),
            container: "recordings".into(),
            blob: "<img src=x>".into(),
            data: BlobEventData {
                api: "DeleteBlob".into(),
                sequencer: Some("02".into()),
                request_id: Some("req-1".into()),
                ..BlobEventData::default()
            },
        }
    }

    #[test]
    fn the_row_keeps_everything_and_records_the_deletion() {
        let ev = deleted(datetime!(2025-03-20 08:00 UTC));
        let r = deleted_outside(&row(), &ev);
        assert_eq!(r.status, STATUS_DELETED_OUTSIDE);
        let d = r.deletion.clone().expect("deletion");
        assert_eq!(
            (d.reason.as_str(), d.request_id.as_str()),
            (REASON_OUTSIDE, "req-1")
        );
        assert_eq!((r.sequencer.as_str(), r.event_id.as_str()), ("02", "del-1"));
        assert_eq!(r.retain_until, "2025-04-13");
        assert!(records(&r, &ev) && !records(&row(), &ev));
    }

    #[test]
    fn titles_say_hold_or_early_and_ids_are_per_deletion() {
        let early = deleted_outside(&row(), &deleted(datetime!(2025-04-13 23:00 UTC)));
        let n = deleted_finding(&early, None).told();
        assert_eq!(n.severity, Severity::Critical);
        assert_eq!(n.kind, "recording.deleted");
        assert!(
            n.title.contains("before its retainUntil 2025-04-13"),
            "{}",
            n.title
        );
        assert_eq!(n.data["blobName"], "<img src=x>");
        let late = deleted_outside(&row(), &deleted(datetime!(2025-04-14 00:00 UTC)));
        assert_eq!(
            deleted_finding(&late, None).told().title,
            "Recording deleted outside retention"
        );
        let mut held = row();
        held.hold.held = true;
        let held = deleted_outside(&held, &deleted(datetime!(2025-05-01 00:00 UTC)));
        assert!(
            deleted_finding(&held, None)
                .told()
                .title
                .contains("legal hold")
        );
        // The same deletion, the same id; another deletion of the name, another id.
        assert_eq!(
            n.notification_id,
            deleted_finding(&early, None).told().notification_id
        );
        let mut again = deleted(datetime!(2025-04-13 23:00 UTC));
        again.data.sequencer = Some("03".into());
        again.data.request_id = Some("req-2".into());
        let other = deleted_finding(&deleted_outside(&row(), &again), None).told();
        assert_ne!(n.notification_id, other.notification_id);
    }

    #[test]
    fn a_blob_gone_before_cataloguing_alerts_once_in_either_order() {
        let key = RecordingKey::for_source_blob(
            datetime!(2025-03-20 08:00 UTC),
            "a",
            "recordings",
            "<img src=x>",
        );
        let del = deleted(datetime!(2025-03-20 08:00 UTC));
        let mut created = deleted(datetime!(2025-03-20 07:59 UTC));
        created.id = "created-1".into();
        created.event_type = crate::events::event_grid::BLOB_CREATED.into();
        created.data.sequencer = Some("01".into());
        created.data.request_id = Some("put-1".into());
        created.data.e_tag = Some("0x9".into());
        let gone = |event| Announced {
            key: key.clone(),
            event,
            account: "a",
            bastion: None,
            now: datetime!(2025-03-20 08:01 UTC),
        };
        // The deletion first.
        let first = deleted_before(&gone(&del));
        assert_eq!(first.status, STATUS_DELETED_BEFORE);
        assert_eq!(
            first.deletion.as_ref().map(|d| d.request_id.as_str()),
            Some("req-1")
        );
        assert!(records(&first, &del), "a redelivery finds its row");
        assert!(!is_new_deletion(&first, &created), "the creation is older");
        // The creation first (its blob gone), then the deletion completes the row.
        let found = deleted_before(&gone(&created));
        assert_eq!(
            (found.etag.as_str(), found.deletion.is_some()),
            ("0x9", true)
        );
        assert!(is_new_deletion(&found, &del));
        let done = deleted_outside(&found, &del);
        assert_eq!(done.status, STATUS_DELETED_BEFORE);
        assert_eq!(done.outside_deletions.len(), 1, "one deletion");
        assert_eq!(done.outside_deletions[0].request_id, "req-1");
        assert_eq!(
            deleted_finding(&found, None).told().notification_id,
            deleted_finding(&done, None).told().notification_id,
            "one id whichever event told first"
        );
        assert_eq!(
            deleted_finding(&first, None).told().notification_id,
            deleted_finding(&done, None).told().notification_id
        );
        assert_eq!(
            deleted_finding(&done, None).told().title,
            "Recording deleted before it was catalogued"
        );
        // Written again and deleted again: another deletion, another id.
        let mut later = deleted(datetime!(2025-03-21 08:00 UTC));
        later.id = "del-2".into();
        later.data.sequencer = Some("03".into());
        let twice = deleted_outside(&done, &later);
        assert_eq!(twice.outside_deletions.len(), 2);
        assert_ne!(
            deleted_finding(&twice, None).told().notification_id,
            deleted_finding(&done, None).told().notification_id
        );
    }

    #[test]
    fn a_deletion_of_a_catalogued_row_joins_its_trail_and_stays_after_a_re_upload() {
        let ev = deleted(datetime!(2025-03-20 08:00 UTC));
        let r = deleted_outside(&row(), &ev);
        assert_eq!(r.outside_deletions.len(), 1);
        assert!(!r.outside_deletions[0].before_catalogued);
        let mut fresh = row();
        fresh.etag = "0x2".into();
        fresh.blob_created = datetime!(2025-03-21 08:00 UTC);
        let back = crate::recordings::ingest::newer_state(&r, &fresh);
        assert_eq!(back.status, crate::catalogue::recording::STATUS_CATALOGUED);
        assert_eq!(back.outside_deletions, r.outside_deletions, "kept");
    }
}

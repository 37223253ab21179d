//! Pure decisions on a deletion the product did not make: the row it leaves
//! ([`STATUS_DELETED_OUTSIDE`], kept, never removed) and its `recording.deleted` notification.

use serde_json::{Value, json};

use crate::catalogue::recording::{Deletion, Recording, STATUS_DELETED_OUTSIDE};
use crate::dates::{format_date, format_utc};
use crate::events::event_grid::BlobEvent;
use crate::notify::{Notification, Severity};

/// `DeletionReason` of a deletion outside retention.
pub const REASON_OUTSIDE: &str = "outside-retention";

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
    row.status == STATUS_DELETED_OUTSIDE && (row.event_id == event.id || same_request)
}

/// The row after the deletion `event` reports (the event as its newest state; the rest kept).
pub fn deleted_outside(cur: &Recording, event: &BlobEvent) -> Recording {
    let mut r = cur.clone();
    r.status = STATUS_DELETED_OUTSIDE.to_owned();
    r.deletion = Some(Deletion {
        at: format_utc(event.time),
        reason: REASON_OUTSIDE.to_owned(),
        invocation_id: String::new(),
        request_id: event.data.request_id.clone().unwrap_or_default(),
    });
    r.event_id.clone_from(&event.id);
    if let Some(s) = event.data.sequencer.as_deref().filter(|s| !s.is_empty()) {
        s.clone_into(&mut r.sequencer);
    }
    r
}

/// The fact: the recording and the deletion's storage request id, which its `BlobDeleted` event
/// and its `StorageBlobLogs` row both carry (one id whichever saw it first); without one (found
/// by the listing) the sequencer, else the event id: each deletion alerts once.
pub fn fact(row: &Recording) -> String {
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

/// The title: whether the deletion broke a legal hold or came before the retention date.
pub fn title(row: &Recording, deleted_on: &str) -> String {
    if row.held() {
        "Recording deleted outside retention while under legal hold".to_owned()
    } else if !row.retain_until.is_empty() && deleted_on <= row.retain_until.as_str() {
        format!(
            "Recording deleted outside retention before its retainUntil {}",
            row.retain_until
        )
    } else {
        "Recording deleted outside retention".to_owned()
    }
}

/// `recording.deleted` (critical) for `row` as [`deleted_outside`] left it.
pub fn deleted_notification(row: &Recording, bastion_id: Option<&str>) -> Notification {
    let at = row
        .deletion
        .as_ref()
        .map(|d| d.at.clone())
        .unwrap_or_default();
    let day = crate::dates::timestamp(&at).map_or_else(String::new, |t| format_date(t.date()));
    let mut data = json!({
        "recordingId": row.id(), "account": row.account, "bastionHost": row.source_bastion,
        "container": row.container, "blobName": row.blob_name, "blobUrl": row.blob_url,
        "retentionClass": row.retention_class, "retainUntil": row.retain_until,
        "legalHold": row.held(), "deletedAt": at,
        "requestId": row.deletion.as_ref().map(|d| d.request_id.as_str()).unwrap_or_default(),
        "sha256": row.hash.as_ref().map(|h| h.sha256.as_str()).unwrap_or_default(),
    });
    if let Some(id) = bastion_id {
        data["bastionResourceId"] = Value::String(id.to_owned());
    }
    Notification::new(
        "recording.deleted",
        &fact(row),
        at,
        Severity::Critical,
        title(row, &day),
        data,
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::catalogue::recording::STATUS_CATALOGUED;
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
        let n = deleted_notification(&early, None);
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
            deleted_notification(&late, None).title,
            "Recording deleted outside retention"
        );
        let mut held = row();
        held.hold.held = true;
        let held = deleted_outside(&held, &deleted(datetime!(2025-05-01 00:00 UTC)));
        assert!(
            deleted_notification(&held, None)
                .title
                .contains("legal hold")
        );
        // The same deletion, the same id; another deletion of the name, another id.
        assert_eq!(
            n.notification_id,
            deleted_notification(&early, None).notification_id
        );
        let mut again = deleted(datetime!(2025-04-13 23:00 UTC));
        again.data.sequencer = Some("03".into());
        again.data.request_id = Some("req-2".into());
        let other = deleted_notification(&deleted_outside(&row(), &again), None);
        assert_ne!(n.notification_id, other.notification_id);
    }
}

//! Pure builders for the invocation envelopes the host POSTs to the handler (protocol §3).
//!
//! Everything here is deterministic: times, GUIDs and sequencers come in as arguments so the unit
//! tests can assert exact shapes. Encodings follow §3.2: objects stay objects, strings and numbers
//! are double-encoded, DateTimeOffsets lose their fraction, `sys.UtcNow` keeps 7 fractional digits.

mod outputs;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

pub(crate) use outputs::{MessageBody, decode_wire, queue_messages, wire_text};

/// `2025-03-14T09:42:18.2345678Z` (Event Grid `eventTime`, `sys.UtcNow`).
pub(crate) fn utc_7(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
    ))
    .unwrap_or_default()
}

/// `2025-03-14T09:42:20+00:00`: a DateTimeOffset after the host's `ToString()`/`Parse()` round trip.
pub(crate) fn offset_seconds(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]+00:00"
    ))
    .unwrap_or_default()
}

/// `2025-03-15T02:00:00.1234567+00:00` (`ScheduleStatus.LastUpdated` keeps its fraction).
pub(crate) fn offset_7(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]+00:00"
    ))
    .unwrap_or_default()
}

/// A .NET string as the host sends it: the JSON text of the string, inside a JSON string.
pub(crate) fn double(s: &str) -> Value {
    Value::String(Value::String(s.to_owned()).to_string())
}

/// `Metadata.sys` (`SystemBindingData`).
pub(crate) fn sys(method: &str, now: OffsetDateTime, rand_guid: &str) -> Value {
    json!({ "MethodName": method, "UtcNow": utc_7(now), "RandGuid": rand_guid })
}

/// What devhost knows about a created blob, enough for a `Microsoft.Storage.BlobCreated` event.
#[derive(Debug, Clone)]
pub(crate) struct BlobFacts {
    /// `/subscriptions/…/resourceGroups/…` prefix of the topic.
    pub(crate) scope: String,
    /// Storage account name.
    pub(crate) account: String,
    /// Container.
    pub(crate) container: String,
    /// Blob name.
    pub(crate) name: String,
    /// Full blob URL (no SAS).
    pub(crate) url: String,
    /// ETag without quotes.
    pub(crate) etag: String,
    /// Content type (`application/octet-stream` when unset).
    pub(crate) content_type: String,
    /// Content length reported in the event (0 for append blobs).
    pub(crate) content_length: u64,
    /// `BlockBlob` / `AppendBlob` / `PageBlob`.
    pub(crate) blob_type: &'static str,
    /// `PutBlob` or `PutBlockList`.
    pub(crate) api: &'static str,
    /// 48 hex digits, increasing per blob.
    pub(crate) sequencer: String,
}

/// The random identifiers of one event.
#[derive(Debug, Clone)]
pub(crate) struct EventIds {
    /// Event id.
    pub(crate) id: String,
    /// `data.clientRequestId`.
    pub(crate) client_request_id: String,
    /// `data.requestId`.
    pub(crate) request_id: String,
    /// `data.storageDiagnostics.batchId`.
    pub(crate) batch_id: String,
}

/// Upload API the event reports: block blobs above this size are assumed to be uploaded in blocks,
/// as the SDKs do above their single-shot threshold; smaller ones and every append/page blob
/// creation report `PutBlob`.
pub(crate) const PUT_BLOCK_LIST_ABOVE: u64 = 4 * 1024 * 1024;

/// Chooses `data.api` for a blob type and length.
pub(crate) fn blob_api(blob_type: &str, content_length: u64) -> &'static str {
    if blob_type == "BlockBlob" && content_length > PUT_BLOCK_LIST_ABOVE {
        "PutBlockList"
    } else {
        "PutBlob"
    }
}

/// `sequencer`: 48 hex digits; `major` (e.g. last-modified in ns) then a process-wide counter.
pub(crate) fn sequencer(major: u128, counter: u64) -> String {
    format!("{major:032X}{counter:016x}")
}

/// One Event Grid schema `Microsoft.Storage.BlobCreated` event.
pub(crate) fn blob_created_event(f: &BlobFacts, ids: &EventIds, now: OffsetDateTime) -> Value {
    json!({
        "topic": format!("{}/providers/Microsoft.Storage/storageAccounts/{}", f.scope, f.account),
        "subject": format!("/blobServices/default/containers/{}/blobs/{}", f.container, f.name),
        "eventType": "Microsoft.Storage.BlobCreated",
        "eventTime": utc_7(now),
        "id": ids.id,
        "data": {
            "api": f.api,
            "clientRequestId": ids.client_request_id,
            "requestId": ids.request_id,
            "eTag": f.etag,
            "contentType": f.content_type,
            "contentLength": f.content_length,
            "blobType": f.blob_type,
            "url": f.url,
            "sequencer": f.sequencer,
            "storageDiagnostics": { "batchId": ids.batch_id }
        },
        "dataVersion": "",
        "metadataVersion": "1"
    })
}

/// Event Grid invocation: `Data.<binding>` = the event object, `Metadata` = `{data, sys}` (§3.3).
pub(crate) fn event_grid_envelope(binding: &str, event: &Value, sys: Value) -> Value {
    let data = match event.get("data") {
        // A string `data` would be double-encoded like any other string binding value.
        Some(Value::String(s)) => double(s),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let mut meta = Map::new();
    if !data.is_null() {
        meta.insert("data".into(), data);
    }
    meta.insert("sys".into(), sys);
    json!({ "Data": { binding: event }, "Metadata": meta })
}

/// The timer monitor's view of a schedule (`ScheduleStatus`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScheduleStatus {
    /// Last occurrence that fired; `None` before the first run (`0001-01-01T00:00:00`).
    pub(crate) last: Option<OffsetDateTime>,
    /// The occurrence being fired (or the next one, for an admin invocation).
    pub(crate) next: OffsetDateTime,
    /// When the status was last written.
    pub(crate) last_updated: OffsetDateTime,
}

/// `TimerInfo` (§3.4); `status` is `None` when `useMonitor` is false.
pub(crate) fn timer_info(status: Option<&ScheduleStatus>, is_past_due: bool) -> Value {
    let status = status.map_or(Value::Null, |s| {
        json!({
            "Last": s.last.map_or_else(|| "0001-01-01T00:00:00".to_owned(), offset_seconds),
            "Next": offset_seconds(s.next),
            "LastUpdated": offset_7(s.last_updated),
        })
    });
    json!({ "Schedule": { "AdjustForDST": true }, "ScheduleStatus": status, "IsPastDue": is_past_due })
}

/// Timer invocation: `Metadata` is only `sys`, plus `RetryContext` on a retry.
pub(crate) fn timer_envelope(
    binding: &str,
    info: Value,
    sys: Value,
    retry: Option<Value>,
) -> Value {
    let mut meta = Map::new();
    if let Some(r) = retry {
        meta.insert("RetryContext".into(), r);
    }
    meta.insert("sys".into(), sys);
    json!({ "Data": { binding: info }, "Metadata": meta })
}

/// `Metadata.RetryContext` for retry `retry_count` of `max` after a failure described by `error`.
pub(crate) fn retry_context(retry_count: u32, max: u32, error: &str) -> Value {
    json!({
        "RetryCount": retry_count,
        "MaxRetryCount": max,
        "Exception": { "ClassName": "System.Exception", "Message": error, "Source": "devhost" }
    })
}

/// A dequeued message as the queue trigger binds it.
#[derive(Debug, Clone)]
pub(crate) struct QueueFacts {
    /// Decoded message text.
    pub(crate) text: String,
    /// Message id.
    pub(crate) id: String,
    /// Pop receipt.
    pub(crate) pop_receipt: String,
    /// Dequeue count (1 on first delivery).
    pub(crate) dequeue_count: i64,
    /// Insertion time.
    pub(crate) insertion_time: Option<OffsetDateTime>,
    /// Expiration time.
    pub(crate) expiration_time: Option<OffsetDateTime>,
    /// Next visible time.
    pub(crate) next_visible_time: Option<OffsetDateTime>,
}

/// Queue-trigger invocation (§3.6): double-encoded text, string metadata, JSON properties promoted.
pub(crate) fn queue_envelope(binding: &str, m: &QueueFacts, sys: Value) -> Value {
    let mut meta = Map::new();
    meta.insert(
        "DequeueCount".into(),
        Value::String(m.dequeue_count.to_string()),
    );
    for (key, t) in [
        ("ExpirationTime", m.expiration_time),
        ("InsertionTime", m.insertion_time),
        ("NextVisibleTime", m.next_visible_time),
    ] {
        if let Some(t) = t {
            meta.insert(key.into(), Value::String(offset_seconds(t)));
        }
    }
    meta.insert("Id".into(), double(&m.id));
    meta.insert("PopReceipt".into(), double(&m.pop_receipt));
    promote_json_properties(&mut meta, &m.text);
    meta.insert("sys".into(), sys);
    json!({ "Data": { binding: double(&m.text) }, "Metadata": meta })
}

/// `Utility.ApplyBindingData`: a JSON-object trigger value adds its top-level non-array, non-null
/// properties, overriding same-named (case-insensitively) binding data. Scalars become .NET
/// strings (`true` → `True`) and are double-encoded; objects stay objects.
pub(crate) fn promote_json_properties(meta: &mut Map<String, Value>, text: &str) {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    for (k, v) in obj {
        let value = match v {
            Value::String(s) => double(&s),
            Value::Number(n) => double(&n.to_string()),
            Value::Bool(b) => double(if b { "True" } else { "False" }),
            Value::Object(_) => v,
            Value::Array(_) | Value::Null => continue,
        };
        meta.retain(|existing, _| !existing.eq_ignore_ascii_case(&k));
        meta.insert(k, value);
    }
}

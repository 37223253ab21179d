//! The public shape of a listed row (documented in `docs/catalogue.md`; `/api/ui` relies on it):
//! each row type's JSON object and its field names in CSV column order, the CSV line made from the
//! object, so an API page, a CSV export and an evidence pack's file carry the same fields under
//! the same names. The only place a row's fields meet their public names.

use serde_json::{Value, json};

use crate::catalogue::days::DayRow;
use crate::catalogue::figures::Coverage;
use crate::catalogue::recording::{Recording, SessionView};
use crate::csv_text as csv;
use crate::dates::{format_utc, format_utc_millis};

/// The latest review shown beside a recording or session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Review {
    /// `ok`, `follow-up`, `incident`.
    pub verdict: String,
    /// The reviewer.
    pub reviewer: String,
    /// When (RFC 3339, ms).
    pub at: String,
}

/// A row with a public shape.
pub trait Shape {
    /// Field names in CSV column order, comma-separated (the CSV header). A column added later goes
    /// at the end, so a reader by position keeps working (every file's order is pinned by a test).
    const COLUMNS: &'static str;

    /// The JSON object, with the row's latest review.
    fn json(&self, review: Option<&Review>) -> Value;

    /// The field names.
    fn columns() -> Vec<&'static str> {
        Self::COLUMNS.split(',').collect()
    }

    /// The CSV cells, unescaped, in [`Self::COLUMNS`] order: texts as they are, an absent field or
    /// `null` empty, a list joined with `;` (the evidence pack's writer escapes them as
    /// [`csv::line`] does).
    fn csv_cells(&self, review: Option<&Review>) -> Vec<String> {
        let item = self.json(review);
        let cell = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(";"),
            v => v.to_string(),
        };
        Self::COLUMNS.split(',').map(|c| cell(&item[c])).collect()
    }

    /// The CSV line (CRLF).
    fn csv_line(&self, review: Option<&Review>) -> String {
        csv::line(&self.csv_cells(review))
    }

    /// The CSV header line.
    fn csv_header() -> String {
        csv::line(&Self::columns())
    }
}

impl Shape for Recording {
    /// JSON leaves out what a row lacks (an empty text included); CSV leaves it empty.
    const COLUMNS: &'static str = "id,sessionStart,sessionEnd,durationMs,blobCreated,userName,\
        userEmail,clientIp,protocol,targetVm,targetResourceId,tunnelId,matchConfidence,bastionHost,\
        account,container,blobName,contentLength,status,retentionClass,retainUntil,legalHold,sha256,\
        hashedLength,reviewVerdict,reviewer,reviewedAt,replaced";

    fn json(&self, review: Option<&Review>) -> Value {
        let s = self.session();
        let replaced = self.replaced.as_ref();
        let of = |f: fn(&SessionView) -> &str| s.map(f);
        let time = |f: fn(&SessionView) -> Option<_>| s.and_then(f).map(format_utc_millis);
        let (h, r) = (self.hash.as_ref(), review);
        let mut v = json!({
            "id": self.id(), "sessionStart": time(|s| s.start), "sessionEnd": time(|s| s.end),
            "durationMs": s.and_then(|s| s.duration_ms), "blobCreated": format_utc(self.blob_created),
            "userName": of(|s| &s.user_name), "userEmail": of(|s| &s.user_email),
            "clientIp": of(|s| &s.client_ip), "protocol": of(|s| &s.protocol),
            "targetVm": of(|s| &s.target_vm), "targetResourceId": of(|s| &s.target_resource_id),
            "tunnelId": of(|s| &s.tunnel_id), "matchConfidence": self.matched().map(|m| m.confidence.as_str()),
            "matchReason": self.matched().and_then(|m| m.confidence.reason()),
            "bastionHost": self.bastion(), "account": self.account, "container": self.container,
            "blobName": self.blob_name, "contentLength": self.content_length, "status": self.status,
            "retentionClass": self.retention_class, "retainUntil": self.retain_until,
            "legalHold": self.hold.held, "sha256": h.map(|h| &h.sha256), "hashedLength": h.map(|h| h.length),
            "reviewVerdict": r.map(|r| &r.verdict), "reviewer": r.map(|r| &r.reviewer),
            "reviewedAt": r.map(|r| &r.at),
            // Its content was overwritten outside the product (it keeps its session).
            "replaced": replaced.is_some(), "replacedAt": replaced.map(|r| &r.at),
        });
        if let Value::Object(m) = &mut v {
            m.retain(|_, v| !v.is_null() && v != "");
        }
        v
    }
}

impl Shape for DayRow {
    /// Texts are always there (empty when unknown); `end`, `durationMs` and `recordingId` are
    /// `null` when unknown.
    const COLUMNS: &'static str = "sessionId,userName,userEmail,clientIp,targetVm,\
        targetResourceId,bastionHost,protocol,start,end,durationMs,outcome,recorded,recordingId,\
        recordingIds,joinPending,reviewVerdict,reviewer,reviewedAt,kind,matchConfidence,\
        recordingReplaced,authorization";

    fn json(&self, review: Option<&Review>) -> Value {
        let r = review.cloned().unwrap_or_default();
        json!({
            "sessionId": self.tunnel_id, "userName": self.user_name, "userEmail": self.user_email,
            "clientIp": self.client_ip, "targetVm": self.vm, "targetResourceId": self.target_resource_id,
            "bastionHost": self.host, "protocol": self.protocol, "start": format_utc_millis(self.start),
            "end": self.end.map(format_utc_millis), "durationMs": self.duration_ms,
            "outcome": self.public_outcome(), "recorded": self.recorded,
            // What the session counts as in every figure: recorded, unrecorded or failed-login.
            "kind": Coverage::of(self).as_str(),
            "recordingId": self.recording_ids.first(), "recordingIds": self.recording_ids,
            // A recording joined or left the session and its recorded state is being derived again
            // (within a tail tick): `recorded` is the state before that change.
            "joinPending": self.pending.is_some(),
            "reviewVerdict": r.verdict, "reviewer": r.reviewer, "reviewedAt": r.at,
            // How it is recorded: `exact` (a recording names it), `probable` (by time alone),
            // `ambiguous` (unrecorded: a time match tied), else null.
            "matchConfidence": (!self.recorded_by.is_empty()).then_some(&self.recorded_by),
            // A recording vouching for it was overwritten outside the product.
            "recordingReplaced": self.replaced,
            // Who allowed it (null: not decided yet), and the record the verdict rests on.
            "authorization": (!self.authorization.is_empty()).then_some(&self.authorization),
            "authorizationRecord": serde_json::from_str::<Value>(&self.authorization_record).ok(),
        })
    }
}

//! Audit records folded into one [`SessionRecord`] per `tunnelId` (pure). Records arrive in any
//! order and any number of times, so the merge is idempotent and order independent: start is the
//! earliest, end the latest time any record implies, the outcome the highest ranked, identity
//! fields the first non-empty. Here too: a field read from an ARM resource id ([`arm_segment`]),
//! and the open-enum classification of records ([`classify`]: `operationName`/`message` matched
//! tolerantly; unknown values are kept raw by the session, never rejected).

use time::{Duration, OffsetDateTime};

use super::parse::{Record, Text, timestamp};
use crate::catalogue::session::{add_raw, fill, max_time, min_time, outcome_rank};

pub use crate::catalogue::session::{SESSION_ROW, SessionRecord, outcome, tunnel_key};

/// A record timestamp cut to the stored milliseconds: merging a record again changes nothing.
pub fn record_time(text: &str) -> Option<OffsetDateTime> {
    let t = timestamp(text)?;
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .ok()
}

/// The trimmed text of a field ("" when absent).
fn text<'b>(t: &'b Option<Text<'_>>) -> &'b str {
    t.as_ref().map_or("", |t| t.as_str().trim())
}

impl SessionRecord {
    /// Folds one record in, its [`record_time`] already parsed; allocates only for fields still
    /// unknown. `host` is the Bastion host from the blob path, used when the record's own
    /// `resourceId` does not name it. Returns the record's kind. Host, protocol and ARM parts are
    /// lower-cased.
    pub fn merge_at(
        &mut self,
        rec: &Record<'_>,
        host: &str,
        time: Option<OffsetDateTime>,
    ) -> RecordKind {
        let p = &rec.properties;
        let (op, msg) = (text(&rec.operation_name), text(&p.message));
        let kind = classify(op, msg);
        if self.bastion_host.is_empty() {
            let named = arm_segment(text(&rec.resource_id), "bastionHosts");
            fill(&mut self.bastion_host, named.unwrap_or(host), true);
        }
        fill(&mut self.user_name, text(&p.user_name), false);
        fill(&mut self.user_email, text(&p.user_email), false);
        fill(&mut self.client_ip, text(&p.client_ip), false);
        self.client_port = self.client_port.or(p.client_port.and_then(|n| n.0));
        fill(&mut self.protocol, text(&p.protocol), true);
        let target = text(&p.target_resource_id);
        if self.target_vm.is_empty()
            || self.subscription.is_empty()
            || self.resource_group.is_empty()
        {
            // Splitting the ARM id is the costly part: only while a field is still unknown.
            let vm = arm_segment(target, "virtualMachines")
                .or_else(|| arm_segment(target, "virtualMachineScaleSets"));
            fill(&mut self.target_vm, vm.unwrap_or(""), true);
            let sub = arm_segment(target, "subscriptions").unwrap_or(text(&p.subscription_id));
            fill(&mut self.subscription, sub, true);
            let rg = arm_segment(target, "resourceGroups").unwrap_or("");
            fill(&mut self.resource_group, rg, true);
        }
        fill(&mut self.target_resource_id, target, false);
        fill(&mut self.target_ip, text(&p.target_ip), false);
        self.merge_times(rec, kind, time);
        add_raw(&mut self.messages, msg);
        add_raw(&mut self.operations, op);
        self.cap_fields();
        kind
    }

    /// Start, end, duration, outcome and record times of one record.
    fn merge_times(&mut self, rec: &Record<'_>, kind: RecordKind, time: Option<OffsetDateTime>) {
        let p = &rec.properties;
        let explicit_start = p
            .session_start
            .as_ref()
            .and_then(|t| record_time(t.as_str()));
        let connected = (kind == RecordKind::Connected).then_some(time).flatten();
        min_time(&mut self.session_start, explicit_start.or(connected));
        let explicit_end = p.session_end.as_ref().and_then(|t| record_time(t.as_str()));
        let duration = p.duration.and_then(|d| d.0).filter(|d| *d >= 0);
        let by_duration = explicit_start
            .zip(duration)
            .map(|(s, d)| s + Duration::milliseconds(d));
        let ended = (kind == RecordKind::Ended).then_some(time).flatten();
        max_time(
            &mut self.session_end,
            explicit_end.or(by_duration).or(ended),
        );
        self.duration_ms = self.duration_ms.max(duration);
        let rank = match kind {
            RecordKind::Connected | RecordKind::Ended => outcome::CONNECTED,
            RecordKind::LoginFailed => outcome::LOGIN_FAILED,
            RecordKind::Other => outcome::OTHER,
        };
        if outcome_rank(rank) > outcome_rank(&self.outcome) {
            rank.clone_into(&mut self.outcome);
        }
        min_time(&mut self.first_record_time, time);
        max_time(&mut self.last_record_time, time);
    }
}

/// The path segment following `name` (case-insensitive) in an ARM resource id.
pub fn arm_segment<'a>(id: &'a str, name: &str) -> Option<&'a str> {
    let (b, n) = (id.as_bytes(), name.as_bytes());
    let end_of = |from: usize| memchr::memchr(b'/', &b[from..]).map_or(b.len(), |i| from + i);
    let mut start = 0;
    while start <= b.len() {
        let end = end_of(start);
        if end - start == n.len() && b[start..end].eq_ignore_ascii_case(n) {
            let from = (end + 1).min(b.len());
            return id.get(from..end_of(from)).filter(|s| !s.is_empty());
        }
        start = end + 1;
    }
    None
}

/// What one record says about its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// `Successfully Connected.`
    Connected,
    /// `Login Failed`.
    LoginFailed,
    /// A disconnect / end-of-session record (unconfirmed shape).
    Ended,
    /// Anything else.
    Other,
}

/// Classifies a record from its open-enum `operationName` and `message`.
pub fn classify(operation: &str, message: &str) -> RecordKind {
    let has = |text: &str, needle: &str| {
        text.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    if has(message, "fail") {
        RecordKind::LoginFailed
    } else if has(operation, "disconnect") || has(message, "disconnect") || has(message, "ended") {
        RecordKind::Ended
    } else if has(message, "success") {
        RecordKind::Connected
    } else {
        RecordKind::Other
    }
}

#[cfg(test)]
mod tests;

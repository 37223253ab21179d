//! [`SessionView`]: a session folded from records without owning their text.
//!
//! Why: the tail folds a chunk's records per tunnel and then merges each fold into the stored row.
//! Folding into an owned [`SessionRecord`] cost ~17 small allocations per session per chunk (each
//! identity field, the outcome, the message/operation sets) only to copy them again into the stored
//! row. The view keeps the raw field values as slices of the chunk (`Cow::Borrowed`; only values
//! that had JSON escapes are owned) and applies the case folding when it is merged into an owned
//! record. It follows exactly the rules of [`SessionRecord::merge`]: fill-when-empty identity fields
//! (first non-empty value wins), min start, max end and duration, ranked outcome, bounded sorted
//! raw sets — so `view.merge_into(s)` equals `s.merge(&view.to_record())`.

use std::borrow::Cow;

use time::{Duration, OffsetDateTime};

use super::{
    MAX_RAW_VALUES, RecordKind, SessionRecord, add_raw, arm_segment, classify, fill, max_time,
    min_time, outcome, outcome_rank, record_time,
};
use crate::audit_logs::parse::{Record, Text};

/// A partial session whose text borrows from the records folded in (for `'a`). Empty means
/// unknown; values are trimmed but not yet case-folded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionView<'a> {
    bastion_host: Cow<'a, str>,
    user_name: Cow<'a, str>,
    user_email: Cow<'a, str>,
    client_ip: Cow<'a, str>,
    client_port: Option<i64>,
    protocol: Cow<'a, str>,
    target_resource_id: Cow<'a, str>,
    target_vm: Cow<'a, str>,
    target_ip: Cow<'a, str>,
    subscription: Cow<'a, str>,
    resource_group: Cow<'a, str>,
    session_start: Option<OffsetDateTime>,
    session_end: Option<OffsetDateTime>,
    duration_ms: Option<i64>,
    outcome: &'static str,
    first_record_time: Option<OffsetDateTime>,
    last_record_time: Option<OffsetDateTime>,
    messages: RawSet<'a>,
    operations: RawSet<'a>,
}

/// Distinct raw values, sorted, at most [`MAX_RAW_VALUES`] (the smallest), stored inline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RawSet<'a> {
    len: usize,
    items: [Cow<'a, str>; MAX_RAW_VALUES],
}

impl<'a> RawSet<'a> {
    fn as_slice(&self) -> &[Cow<'a, str>] {
        &self.items[..self.len]
    }

    /// Same rule as the owned `add_raw`: insert in order, keep the smallest values.
    fn add(&mut self, value: Cow<'a, str>) {
        if value.is_empty() {
            return;
        }
        let Err(at) = self.as_slice().binary_search_by(|v| (**v).cmp(&*value)) else {
            return;
        };
        if at >= MAX_RAW_VALUES {
            return;
        }
        let end = self.len.min(MAX_RAW_VALUES - 1);
        self.items[at..=end].rotate_right(1);
        self.items[at] = value;
        self.len = (self.len + 1).min(MAX_RAW_VALUES);
    }
}

/// The trimmed text of a field, borrowed when the parser borrowed it.
fn cow<'a>(t: &Option<Text<'a>>) -> Cow<'a, str> {
    match t.as_ref().map(|t| &t.0) {
        None => Cow::Borrowed(""),
        Some(Cow::Borrowed(s)) => Cow::Borrowed(s.trim()),
        Some(Cow::Owned(s)) => Cow::Owned(s.trim().to_owned()),
    }
}

/// Fills an empty slot (the value is computed only when the slot is empty).
fn keep<'a>(slot: &mut Cow<'a, str>, value: impl FnOnce() -> Cow<'a, str>) {
    if slot.is_empty() {
        *slot = value();
    }
}

/// The segment after `name` in an ARM id, borrowed from the id when the id is borrowed.
fn segment<'a>(id: &Cow<'a, str>, names: &[&str]) -> Option<Cow<'a, str>> {
    match id {
        Cow::Borrowed(s) => names
            .iter()
            .find_map(|n| arm_segment(s, n))
            .map(Cow::Borrowed),
        Cow::Owned(s) => names
            .iter()
            .find_map(|n| arm_segment(s, n))
            .map(|v| Cow::Owned(v.to_owned())),
    }
}

impl<'a> SessionView<'a> {
    /// Folds one record in (see [`SessionRecord::merge_at`]); returns the record's kind. `host` is
    /// the Bastion host from the blob path, used when the record's `resourceId` does not name one.
    pub fn fold(
        &mut self,
        rec: &Record<'a>,
        host: &'a str,
        time: Option<OffsetDateTime>,
    ) -> RecordKind {
        let p = &rec.properties;
        let (op, msg) = (cow(&rec.operation_name), cow(&p.message));
        let kind = classify(&op, &msg);
        keep(&mut self.bastion_host, || {
            segment(&cow(&rec.resource_id), &["bastionHosts"]).unwrap_or(Cow::Borrowed(host))
        });
        keep(&mut self.user_name, || cow(&p.user_name));
        keep(&mut self.user_email, || cow(&p.user_email));
        keep(&mut self.client_ip, || cow(&p.client_ip));
        self.client_port = self.client_port.or(p.client_port.and_then(|n| n.0));
        keep(&mut self.protocol, || cow(&p.protocol));
        if self.target_resource_id.is_empty()
            || self.target_vm.is_empty()
            || self.subscription.is_empty()
            || self.resource_group.is_empty()
        {
            // Splitting the ARM id is the costly part: only while a field is still unknown.
            let target = cow(&p.target_resource_id);
            keep(&mut self.target_vm, || {
                segment(&target, &["virtualMachines", "virtualMachineScaleSets"])
                    .unwrap_or_default()
            });
            keep(&mut self.subscription, || {
                segment(&target, &["subscriptions"]).unwrap_or_else(|| cow(&p.subscription_id))
            });
            keep(&mut self.resource_group, || {
                segment(&target, &["resourceGroups"]).unwrap_or_default()
            });
            keep(&mut self.target_resource_id, || target);
        }
        keep(&mut self.target_ip, || cow(&p.target_ip));
        self.fold_times(rec, kind, time);
        self.messages.add(msg);
        self.operations.add(op);
        kind
    }

    fn fold_times(&mut self, rec: &Record<'a>, kind: RecordKind, time: Option<OffsetDateTime>) {
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
        if outcome_rank(rank) > outcome_rank(self.outcome) {
            self.outcome = rank;
        }
        min_time(&mut self.first_record_time, time);
        max_time(&mut self.last_record_time, time);
    }

    /// Merges the view into an owned session (case folding the host, protocol and ARM parts):
    /// the same result as `s.merge(&self.to_record(..))`, allocating only for fields `s` lacks.
    pub fn merge_into(&self, s: &mut SessionRecord) {
        for (slot, value, lower) in [
            (&mut s.bastion_host, &self.bastion_host, true),
            (&mut s.user_name, &self.user_name, false),
            (&mut s.user_email, &self.user_email, false),
            (&mut s.client_ip, &self.client_ip, false),
            (&mut s.protocol, &self.protocol, true),
            (&mut s.target_resource_id, &self.target_resource_id, false),
            (&mut s.target_vm, &self.target_vm, true),
            (&mut s.target_ip, &self.target_ip, false),
            (&mut s.subscription, &self.subscription, true),
            (&mut s.resource_group, &self.resource_group, true),
        ] {
            fill(slot, value, lower);
        }
        s.client_port = s.client_port.or(self.client_port);
        min_time(&mut s.session_start, self.session_start);
        max_time(&mut s.session_end, self.session_end);
        s.duration_ms = s.duration_ms.max(self.duration_ms);
        if outcome_rank(self.outcome) > outcome_rank(&s.outcome) {
            self.outcome.clone_into(&mut s.outcome);
        }
        min_time(&mut s.first_record_time, self.first_record_time);
        max_time(&mut s.last_record_time, self.last_record_time);
        for m in self.messages.as_slice() {
            add_raw(&mut s.messages, m);
        }
        for m in self.operations.as_slice() {
            add_raw(&mut s.operations, m);
        }
        s.cap_fields();
    }

    /// The view as an owned session of `tunnel_id`.
    pub fn to_record(&self, tunnel_id: &str) -> SessionRecord {
        let mut s = SessionRecord::new(tunnel_id);
        self.merge_into(&mut s);
        s
    }
}

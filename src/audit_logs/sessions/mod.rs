//! Sessions: audit records folded into one [`SessionRecord`] per `tunnelId` (pure).
//!
//! Records of one session arrive in any order, in any hour's blob, any number of times. The merge is
//! therefore idempotent and order independent for the fields that matter: start is the minimum of
//! the explicit `sessionStartTime` values and of the successful-connect times, end the maximum of the
//! explicit end times, start + duration, and disconnect times; the outcome has a rank (connected >
//! login-failed > other); identity fields (user, VM, IP…) are filled when empty (they do not differ
//! between records of one tunnel). Raw `operationName`/`message` values are kept (open enums).

mod arm;
mod entity;
mod kind;

use time::{Duration, OffsetDateTime};

use super::parse::{Record, Text, timestamp};

pub use arm::arm_segment;
pub use entity::SESSION_ROW;
pub use kind::{RecordKind, classify, outcome};

/// At most this many distinct raw messages/operations are kept per session.
const MAX_RAW_VALUES: usize = 8;

/// One session, as merged so far. Empty strings mean "unknown".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionRecord {
    /// Lower-case tunnel GUID (the key).
    pub tunnel_id: String,
    /// Bastion host name, lower-case.
    pub bastion_host: String,
    /// VM user name.
    pub user_name: String,
    /// Portal user's UPN.
    pub user_email: String,
    /// Client public IP.
    pub client_ip: String,
    /// Client port.
    pub client_port: Option<i64>,
    /// `ssh` / `rdp`, lower-case.
    pub protocol: String,
    /// Target resource id as logged.
    pub target_resource_id: String,
    /// Target VM name, lower-case.
    pub target_vm: String,
    /// Target private IP.
    pub target_ip: String,
    /// Subscription of the target, lower-case.
    pub subscription: String,
    /// Resource group of the target, lower-case.
    pub resource_group: String,
    /// Session start.
    pub session_start: Option<OffsetDateTime>,
    /// Session end.
    pub session_end: Option<OffsetDateTime>,
    /// Duration in ms (reported, or end − start).
    pub duration_ms: Option<i64>,
    /// See [`outcome`]; empty before any record.
    pub outcome: String,
    /// Earliest record time.
    pub first_record_time: Option<OffsetDateTime>,
    /// Latest record time.
    pub last_record_time: Option<OffsetDateTime>,
    /// Distinct raw `message` values (sorted).
    pub messages: Vec<String>,
    /// Distinct raw `operationName` values (sorted).
    pub operations: Vec<String>,
}

/// The table key of tunnel id `tunnel` (the `sessions` partition; the `sessionwindows`,
/// `reviewindex` and `failedlogins` row key): the id as it is, through the one encoder
/// ([`crate::tables::keys::key`], verbatim). The tail takes only ids that are their own key (at most
/// 128 bytes, none of the characters a key refuses), so every stored id reads back from its key.
pub fn tunnel_key(tunnel: &str) -> String {
    use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
    key(tunnel, Spelling::Verbatim, MAX_KEY_BYTES)
}

/// The lower-case tunnel id of a record, if it has a non-empty one.
pub fn tunnel_of(rec: &Record<'_>) -> Option<String> {
    let t = rec.properties.tunnel_id.as_ref()?.as_str().trim();
    (!t.is_empty()).then(|| t.to_ascii_lowercase())
}

/// Parses a record timestamp, truncated to milliseconds (the stored precision), so re-reading a
/// stored session and merging the same record again changes nothing.
pub fn record_time(text: &str) -> Option<OffsetDateTime> {
    let t = timestamp(text)?;
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .ok()
}

/// The trimmed text of a field ("" when absent).
fn text<'b>(t: &'b Option<Text<'_>>) -> &'b str {
    t.as_ref().map_or("", |t| t.as_str().trim())
}

fn fill(slot: &mut String, value: &str, lower: bool) {
    if slot.is_empty() && !value.is_empty() {
        *slot = if lower {
            value.to_ascii_lowercase()
        } else {
            value.to_owned()
        };
    }
}

fn min_time(slot: &mut Option<OffsetDateTime>, t: Option<OffsetDateTime>) {
    if let Some(t) = t {
        *slot = Some(slot.map_or(t, |s| s.min(t)));
    }
}

fn max_time(slot: &mut Option<OffsetDateTime>, t: Option<OffsetDateTime>) {
    if let Some(t) = t {
        *slot = Some(slot.map_or(t, |s| s.max(t)));
    }
}

fn outcome_rank(o: &str) -> u8 {
    match o {
        outcome::CONNECTED => 3,
        outcome::LOGIN_FAILED => 2,
        outcome::OTHER => 1,
        _ => 0,
    }
}

/// Adds a raw value to a sorted, bounded set (sorted so the merge order does not matter).
fn add_raw(list: &mut Vec<String>, value: &str) {
    if value.is_empty() {
        return;
    }
    if let Err(at) = list.binary_search_by(|v| v.as_str().cmp(value)) {
        list.insert(at, value.to_owned());
        list.truncate(MAX_RAW_VALUES);
    }
}

impl SessionRecord {
    /// An empty session for `tunnel_id`.
    pub fn new(tunnel_id: &str) -> Self {
        Self {
            tunnel_id: tunnel_id.to_ascii_lowercase(),
            ..Self::default()
        }
    }

    /// Folds one record in; allocates only for fields still unknown. `host` is the Bastion host
    /// from the blob path, used when the record's own `resourceId` does not name it.
    pub fn merge_record(&mut self, rec: &Record<'_>, host: &str) {
        let time = rec.time.as_ref().and_then(|t| record_time(t.as_str()));
        self.merge_at(rec, host, time);
    }

    /// [`merge_record`](Self::merge_record) with the record's [`record_time`] already parsed (the
    /// tail parses it once per record); returns the record's kind. Text fields are trimmed, the
    /// host, protocol and ARM parts lower-cased, and every field cut to [`MAX_FIELD`].
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

    /// Folds another partial view of the same session in (commutative for the ranked fields).
    pub fn merge(&mut self, o: &Self) {
        for (slot, value) in [
            (&mut self.bastion_host, &o.bastion_host),
            (&mut self.user_name, &o.user_name),
            (&mut self.user_email, &o.user_email),
            (&mut self.client_ip, &o.client_ip),
            (&mut self.protocol, &o.protocol),
            (&mut self.target_resource_id, &o.target_resource_id),
            (&mut self.target_vm, &o.target_vm),
            (&mut self.target_ip, &o.target_ip),
            (&mut self.subscription, &o.subscription),
            (&mut self.resource_group, &o.resource_group),
        ] {
            fill(slot, value, false);
        }
        self.client_port = self.client_port.or(o.client_port);
        min_time(&mut self.session_start, o.session_start);
        max_time(&mut self.session_end, o.session_end);
        self.duration_ms = self.duration_ms.max(o.duration_ms);
        if outcome_rank(&o.outcome) > outcome_rank(&self.outcome) {
            self.outcome.clone_from(&o.outcome);
        }
        min_time(&mut self.first_record_time, o.first_record_time);
        max_time(&mut self.last_record_time, o.last_record_time);
        for m in &o.messages {
            add_raw(&mut self.messages, m);
        }
        for m in &o.operations {
            add_raw(&mut self.operations, m);
        }
    }

    /// Duration as reported, else end − start.
    pub fn effective_duration_ms(&self) -> Option<i64> {
        let computed = self
            .session_start
            .zip(self.session_end)
            .map(|(s, e)| (e - s).whole_milliseconds());
        self.duration_ms.or_else(|| {
            computed
                .and_then(|d| i64::try_from(d).ok())
                .filter(|d| *d >= 0)
        })
    }

    /// True for a session that connected successfully.
    pub fn connected(&self) -> bool {
        self.outcome == outcome::CONNECTED
    }

    /// User name and e-mail (for retention rules and matching).
    pub fn users(&self) -> Vec<&str> {
        [self.user_name.as_str(), self.user_email.as_str()]
            .into_iter()
            .filter(|u| !u.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests;

/// Longest text kept in one session field. Real values (names, addresses, resource ids, messages)
/// are far shorter; a record carrying a huge one must not make its session a row the table
/// service refuses on every tick (a property holds at most 64 KiB, an entity 1 MiB).
pub const MAX_FIELD: usize = 2048;

/// `text` cut to at most `max` bytes, on a character boundary.
fn cap(text: &mut String, max: usize) {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
}

impl SessionRecord {
    /// Cuts every text field to [`MAX_FIELD`] bytes.
    pub fn cap_fields(&mut self) {
        for f in [
            &mut self.bastion_host,
            &mut self.user_name,
            &mut self.user_email,
            &mut self.client_ip,
            &mut self.protocol,
            &mut self.target_resource_id,
            &mut self.target_vm,
            &mut self.target_ip,
            &mut self.subscription,
            &mut self.resource_group,
            &mut self.outcome,
        ] {
            cap(f, MAX_FIELD);
        }
        for m in self.messages.iter_mut().chain(self.operations.iter_mut()) {
            cap(m, MAX_FIELD);
        }
    }
}

//! The session record: one Bastion session as merged so far from its audit records, its
//! `sessions` row (entity, keys, field limits) and the helpers of the merge.

use serde_json::json;
use time::OffsetDateTime;

use crate::dates::{format_utc_millis, timestamp};
use crate::tables::{Entity, get_i64, get_str, int64};
use crate::telemetry::text::char_floor;

/// `Outcome` values.
pub mod outcome {
    /// A successful connect was seen.
    pub const CONNECTED: &str = "connected";
    /// Only failed logins were seen.
    pub const LOGIN_FAILED: &str = "login-failed";
    /// Only records with other (unknown) messages were seen.
    pub const OTHER: &str = "other";
}

/// At most this many distinct raw messages/operations are kept per session.
pub const MAX_RAW_VALUES: usize = 8;

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

pub(crate) fn fill(slot: &mut String, value: &str, lower: bool) {
    if slot.is_empty() && !value.is_empty() {
        *slot = if lower {
            value.to_ascii_lowercase()
        } else {
            value.to_owned()
        };
    }
}

pub(crate) fn min_time(slot: &mut Option<OffsetDateTime>, t: Option<OffsetDateTime>) {
    if let Some(t) = t {
        *slot = Some(slot.map_or(t, |s| s.min(t)));
    }
}

pub(crate) fn max_time(slot: &mut Option<OffsetDateTime>, t: Option<OffsetDateTime>) {
    if let Some(t) = t {
        *slot = Some(slot.map_or(t, |s| s.max(t)));
    }
}

pub(crate) fn outcome_rank(o: &str) -> u8 {
    match o {
        outcome::CONNECTED => 3,
        outcome::LOGIN_FAILED => 2,
        outcome::OTHER => 1,
        _ => 0,
    }
}

/// Adds a raw value to a sorted, bounded set (sorted so the merge order does not matter).
pub(crate) fn add_raw(list: &mut Vec<String>, value: &str) {
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

    /// Whether a connect record is among those folded: the first sight of a session, usually.
    pub fn opens(&self) -> bool {
        self.operations
            .iter()
            .any(|o| o.to_ascii_lowercase().ends_with("/connect"))
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
}

/// Longest text kept in one session field. Real values (names, addresses, resource ids, messages)
/// are far shorter; a record carrying a huge one must not make its session a row the table
/// service refuses on every tick (a property holds at most 64 KiB, an entity 1 MiB).
pub const MAX_FIELD: usize = 2048;

/// `text` cut to at most `max` bytes, on a character boundary.
fn cap(text: &mut String, max: usize) {
    text.truncate(char_floor(text, max));
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

/// The table key of tunnel id `tunnel` (the `sessions` partition; the `sessionwindows`,
/// `sessionchanges` and `failedlogins` row key): the id as it is, through the one encoder
/// ([`crate::tables::keys::key`], verbatim). The tail takes only ids that are their own key (at most
/// 128 bytes, none of the characters a key refuses), so every stored id reads back from its key.
pub fn tunnel_key(tunnel: &str) -> String {
    use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
    key(tunnel, Spelling::Verbatim, MAX_KEY_BYTES)
}

/// Row key of the one row in each session partition.
pub const SESSION_ROW: &str = "session";

impl SessionRecord {
    /// The entity (only the session's own properties; join properties are kept by the writer).
    pub fn to_entity(&self) -> Entity {
        let t = |v: Option<OffsetDateTime>| v.map(format_utc_millis).unwrap_or_default();
        let list = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_default();
        let mut e = crate::tables::entity(json!({
            "PartitionKey": tunnel_key(&self.tunnel_id), "RowKey": SESSION_ROW,
            "TunnelId": self.tunnel_id, "BastionHost": self.bastion_host,
            "UserName": self.user_name, "UserEmail": self.user_email, "ClientIp": self.client_ip,
            "Protocol": self.protocol, "TargetResourceId": self.target_resource_id,
            "TargetVm": self.target_vm, "TargetIp": self.target_ip,
            "Subscription": self.subscription, "ResourceGroup": self.resource_group,
            "Outcome": self.outcome,
            "SessionStart": t(self.session_start), "SessionEnd": t(self.session_end),
            "FirstRecordTime": t(self.first_record_time),
            "LastRecordTime": t(self.last_record_time),
            "Messages": list(&self.messages), "Operations": list(&self.operations),
        }));
        if let Some(p) = self.client_port {
            int64(&mut e, "ClientPort", p);
        }
        if let Some(d) = self.effective_duration_ms() {
            int64(&mut e, "DurationMs", d);
        }
        e
    }

    /// Reads a row back; `None` without a partition key.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        let t = |k: &str| get_str(e, k).and_then(timestamp);
        let list = |k: &str| {
            serde_json::from_str::<Vec<String>>(get_str(e, k).unwrap_or("[]")).unwrap_or_default()
        };
        Some(Self {
            tunnel_id: get_str(e, "PartitionKey")?.to_owned(),
            bastion_host: s("BastionHost"),
            user_name: s("UserName"),
            user_email: s("UserEmail"),
            client_ip: s("ClientIp"),
            client_port: get_i64(e, "ClientPort"),
            protocol: s("Protocol"),
            target_resource_id: s("TargetResourceId"),
            target_vm: s("TargetVm"),
            target_ip: s("TargetIp"),
            subscription: s("Subscription"),
            resource_group: s("ResourceGroup"),
            session_start: t("SessionStart"),
            session_end: t("SessionEnd"),
            duration_ms: get_i64(e, "DurationMs"),
            outcome: s("Outcome"),
            first_record_time: t("FirstRecordTime"),
            last_record_time: t("LastRecordTime"),
            messages: list("Messages"),
            operations: list("Operations"),
        })
    }
}

/// Table of sessions.
pub const SESSIONS_TABLE: &str = "sessions";

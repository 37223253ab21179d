//! Table form of a session (table `sessions`, PK = tunnelId, RK = [`SESSION_ROW`]).
//!
//! Why PK = tunnelId rather than Bastion host: a recording that carries a GUID must find its session
//! with one point read without knowing the host, and the tail upserts by tunnelId alone. Time- and
//! host-bounded lookups go through the `sessionwindows` index (see `repo`).

use serde_json::Value;
use time::OffsetDateTime;

use super::SessionRecord;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::{Entity, get_i64, get_str, int64};

/// Row key of the one row in each session partition.
pub const SESSION_ROW: &str = "session";

fn put(e: &mut Entity, k: &str, v: &str) {
    e.insert(k.to_owned(), Value::String(v.to_owned()));
}

fn put_time(e: &mut Entity, k: &str, t: Option<OffsetDateTime>) {
    put(e, k, &t.map(format_utc_millis).unwrap_or_default());
}

impl SessionRecord {
    /// The entity (only the session's own properties; join properties are kept by the writer).
    pub fn to_entity(&self) -> Entity {
        let mut e = Entity::new();
        put(&mut e, "PartitionKey", &super::tunnel_key(&self.tunnel_id));
        put(&mut e, "RowKey", SESSION_ROW);
        for (k, v) in [
            ("TunnelId", &self.tunnel_id),
            ("BastionHost", &self.bastion_host),
            ("UserName", &self.user_name),
            ("UserEmail", &self.user_email),
            ("ClientIp", &self.client_ip),
            ("Protocol", &self.protocol),
            ("TargetResourceId", &self.target_resource_id),
            ("TargetVm", &self.target_vm),
            ("TargetIp", &self.target_ip),
            ("Subscription", &self.subscription),
            ("ResourceGroup", &self.resource_group),
            ("Outcome", &self.outcome),
        ] {
            put(&mut e, k, v);
        }
        put_time(&mut e, "SessionStart", self.session_start);
        put_time(&mut e, "SessionEnd", self.session_end);
        put_time(&mut e, "FirstRecordTime", self.first_record_time);
        put_time(&mut e, "LastRecordTime", self.last_record_time);
        if let Some(p) = self.client_port {
            int64(&mut e, "ClientPort", p);
        }
        if let Some(d) = self.effective_duration_ms() {
            int64(&mut e, "DurationMs", d);
        }
        put(
            &mut e,
            "Messages",
            &serde_json::to_string(&self.messages).unwrap_or_default(),
        );
        put(
            &mut e,
            "Operations",
            &serde_json::to_string(&self.operations).unwrap_or_default(),
        );
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

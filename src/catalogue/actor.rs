//! Who deleted or replaced a recording, as the storage account's `StorageBlobLogs` name them
//! (`Actor*` properties of the catalogue row): found (the log row of the event's own request),
//! probable (no such row: the nearest successful write within minutes), or unknown, each with the
//! reason. Outside values
//! (UPN, user agent, address) are kept as the log wrote them; every reader renders them as text.

use crate::tables::Entity;

/// `ActorStatus` of an actor found in the logs: the row of the event's own storage request id.
pub const ACTOR_FOUND: &str = "found";
/// `ActorStatus` of an actor taken from the nearest successful request of the change's operations
/// on the blob, because no log row carries the event's request id (`ActorReason` says so): likely,
/// not proven.
pub const ACTOR_PROBABLE: &str = "probable";
/// `ActorStatus` when the lookup gave up (`ActorReason` says why).
pub const ACTOR_UNKNOWN: &str = "unknown";

/// The actor of a deletion or replacement outside the product.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// [`ACTOR_FOUND`], [`ACTOR_PROBABLE`] or [`ACTOR_UNKNOWN`].
    pub status: String,
    /// `OperationName` of the request (`DeleteBlob`, `PutBlob`, …).
    pub operation: String,
    /// `AuthenticationType` (`OAuth`, `SAS`, `AccountKey`, `Anonymous`, …).
    pub authentication: String,
    /// `RequesterUpn` (OAuth users only).
    pub upn: String,
    /// `RequesterObjectId` (OAuth only).
    pub object_id: String,
    /// `RequesterAppId` (OAuth only).
    pub app_id: String,
    /// `CallerIpAddress` (`ip:port`).
    pub caller_ip: String,
    /// `UserAgentHeader`.
    pub user_agent: String,
    /// `TimeGenerated` of the request (RFC 3339).
    pub at: String,
    /// For an unknown actor, why; for a found or probable one, how the log row was matched.
    pub reason: String,
    /// The `notificationId` of the alert this actor completes (its follow-up is this id +
    /// `.actor`).
    pub alert_id: String,
}

const FIELDS: [&str; 11] = [
    "ActorStatus",
    "ActorOperation",
    "ActorAuthType",
    "ActorUpn",
    "ActorObjectId",
    "ActorAppId",
    "ActorCallerIp",
    "ActorUserAgent",
    "ActorAt",
    "ActorReason",
    "ActorAlertId",
];

impl Actor {
    fn values(&self) -> [&str; 11] {
        [
            &self.status,
            &self.operation,
            &self.authentication,
            &self.upn,
            &self.object_id,
            &self.app_id,
            &self.caller_ip,
            &self.user_agent,
            &self.at,
            &self.reason,
            &self.alert_id,
        ]
    }

    /// Writes the `Actor*` properties into `e`.
    pub fn to_entity(&self, e: &mut Entity) {
        for (k, v) in FIELDS.into_iter().zip(self.values()) {
            e.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
        }
    }

    /// Reads the `Actor*` properties; `None` when the row has no `ActorStatus`.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        let s = |k: &str| crate::tables::get_str(e, k).unwrap_or_default().to_owned();
        let status = s(FIELDS[0]);
        (!status.is_empty()).then(|| Self {
            status,
            operation: s(FIELDS[1]),
            authentication: s(FIELDS[2]),
            upn: s(FIELDS[3]),
            object_id: s(FIELDS[4]),
            app_id: s(FIELDS[5]),
            caller_ip: s(FIELDS[6]),
            user_agent: s(FIELDS[7]),
            at: s(FIELDS[8]),
            reason: s(FIELDS[9]),
            alert_id: s(FIELDS[10]),
        })
    }

    /// The public JSON of the actor (API, notifications, evidence pack).
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "status": self.status, "operation": self.operation,
            "authenticationType": self.authentication, "requesterUpn": self.upn,
            "requesterObjectId": self.object_id, "requesterAppId": self.app_id,
            "callerIpAddress": self.caller_ip, "userAgent": self.user_agent,
            "time": self.at, "reason": self.reason,
        })
    }
}

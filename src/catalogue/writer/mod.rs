//! Who wrote a recording's current content, as the storage account's `StorageBlobLogs` name the
//! write request (`Writer*` properties of the catalogue row), read by the changes pass of
//! `CustodyActor` ([`crate::recordings`]), and whether that write could be Bastion's
//! (`WriterVerdict`). Bastion writes recordings through the SAS URL its host was given or, since
//! API 2026-01-01, through the managed identity its `sessionRecordingConfiguration` names (an
//! `OAuth` request by that identity's object id). The verdict, decided when the write is recorded:
//!
//! - a SAS write vouches;
//! - an `OAuth` write is judged by the recording identities of the hosts recording into the
//!   container in force at the write's time (`TimeGenerated`; [`super::identity`]): it vouches
//!   when its `RequesterObjectId` is one of them, whatever other hosts are unknown, or the one a
//!   host named at its last check before the write (until the next check says otherwise); by
//!   another object id it does not (`writer-not-recording-identity`) when every host recording
//!   there named its identity then; when one named none then, its identity then is not read yet,
//!   or none was read, such a write cannot be ruled out, since it may be that host's: it is
//!   `vouches-identity-unknown` (the match stands, the row naming the identities compared and the
//!   hosts whose identity is unknown), judged again by the next checks ([`super::rejudge`]);
//!   when no observation of a host covers the write's time (before its first check, or between
//!   two checks that read different identities), it is not judged by a later identity either:
//!   `vouches-identity-unobserved` (the match stands, the row naming those hosts), final;
//! - any other write (an account key, anonymous) does not (`written-by-other-principal`).
//!
//! A write that does not vouch makes the join's match `suspect` with that reason. A row written
//! before the verdict was stored has none: its authentication type alone decides (SAS or `OAuth`
//! vouch).
//!
//! What the log allows and what it does not: `AuthenticationType` tells a SAS from an account key,
//! OAuth or anonymous request; for a SAS, `AuthenticationHash` is `key1(…)` or `key2(…)` (or
//! `user-delegation(…)`) and `SasSignature(…)`, SHA-256 hashes of the signing key and of the SAS
//! token. The product never holds the host's SAS, so it cannot tell the host's SAS from another
//! SAS on the same account: any SAS write vouches, and the hash is kept on the row for a reviewer
//! to compare between recordings. Outside values are kept as logged and rendered as text.
//!
//! Who deleted or replaced a recording, as the storage account's `StorageBlobLogs` name them
//! (`Actor*` properties of the catalogue row): found (the log row of the event's own request),
//! probable (no such row: the nearest successful write within minutes), or unknown, each with the
//! reason. Outside values
//! (UPN, user agent, address) are kept as the log wrote them; every reader renders them as text.

use serde::{Deserialize, Serialize};

use super::doubt::Doubt;
use super::identity::Identities;
use crate::storage::normalize_etag;
use crate::tables::{Entity, get_record};

/// `ActorStatus` of an actor found in the logs: the row of the event's own storage request id.
pub const ACTOR_FOUND: &str = "found";
/// `ActorStatus` of an actor taken from the nearest successful request of the change's operations
/// on the blob, because no log row carries the event's request id (`ActorReason` says so): likely,
/// not proven.
pub const ACTOR_PROBABLE: &str = "probable";
/// `ActorStatus` when the lookup gave up (`ActorReason` says why).
pub const ACTOR_UNKNOWN: &str = "unknown";

/// The actor of a deletion or replacement outside the product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Actor {
    /// [`ACTOR_FOUND`], [`ACTOR_PROBABLE`] or [`ACTOR_UNKNOWN`].
    #[serde(rename = "ActorStatus")]
    pub status: String,
    /// `OperationName` of the request (`DeleteBlob`, `PutBlob`, …).
    #[serde(rename = "ActorOperation")]
    pub operation: String,
    /// `AuthenticationType` (`OAuth`, `SAS`, `AccountKey`, `Anonymous`, …).
    #[serde(rename = "ActorAuthType")]
    pub authentication: String,
    /// `RequesterUpn` (OAuth users only).
    #[serde(rename = "ActorUpn")]
    pub upn: String,
    /// `RequesterObjectId` (OAuth only).
    #[serde(rename = "ActorObjectId")]
    pub object_id: String,
    /// `RequesterAppId` (OAuth only).
    #[serde(rename = "ActorAppId")]
    pub app_id: String,
    /// `CallerIpAddress` (`ip:port`).
    #[serde(rename = "ActorCallerIp")]
    pub caller_ip: String,
    /// `UserAgentHeader`.
    #[serde(rename = "ActorUserAgent")]
    pub user_agent: String,
    /// `TimeGenerated` of the request (RFC 3339).
    #[serde(rename = "ActorAt")]
    pub at: String,
    /// For an unknown actor, why; for a found or probable one, how the log row was matched.
    #[serde(rename = "ActorReason")]
    pub reason: String,
    /// The `notificationId` of the alert this actor completes (its follow-up is this id +
    /// `.actor`).
    #[serde(rename = "ActorAlertId")]
    pub alert_id: String,
}

impl Actor {
    /// Reads the `Actor*` properties; `None` when the row has no `ActorStatus`.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        Some(get_record::<Self>(e)).filter(|a| !a.status.is_empty())
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

/// The `AuthenticationType`s Bastion writes recordings with: its SAS URL, or its managed identity.
pub const VOUCHING_AUTH: [&str; 2] = ["SAS", "OAuth"];
/// `WriterVerdict` of a write that could be Bastion's.
pub const VOUCHES: &str = "vouches";
/// `WriterVerdict` of an `OAuth` write while the container's recording identity is unknown.
pub const VOUCHES_IDENTITY_UNKNOWN: &str = "vouches-identity-unknown";
/// `WriterVerdict` of an `OAuth` write by none of the identities in force at its time, when no
/// observation of a host recording there covers that time: not ruled out, never judged by a
/// later identity.
pub const VOUCHES_IDENTITY_UNOBSERVED: &str = "vouches-identity-unobserved";

/// The write request that made a recording's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Writer {
    /// The content it wrote (the row's ETag when it was recorded; quotes dropped).
    #[serde(rename = "WriterEtag")]
    pub etag: String,
    /// `OperationName` as logged (`PutBlob`, `PutBlockList`, `CopyBlob`, `FlushFile`, …).
    #[serde(rename = "WriterOperation")]
    pub operation: String,
    /// `AuthenticationType` (`SAS`, `AccountKey`, `OAuth`, `Anonymous`, …).
    #[serde(rename = "WriterAuthType")]
    pub authentication: String,
    /// `AuthenticationHash` (which key or token, hashed; empty when not logged).
    #[serde(rename = "WriterAuthHash")]
    pub auth_hash: String,
    /// `RequesterUpn` (OAuth users only).
    #[serde(rename = "WriterUpn")]
    pub upn: String,
    /// `RequesterObjectId` (OAuth only).
    #[serde(rename = "WriterObjectId")]
    pub object_id: String,
    /// `RequesterAppId` (OAuth only).
    #[serde(rename = "WriterAppId")]
    pub app_id: String,
    /// `CallerIpAddress` (`ip:port`).
    #[serde(rename = "WriterCallerIp")]
    pub caller_ip: String,
    /// `TimeGenerated` of the request (RFC 3339).
    #[serde(rename = "WriterAt")]
    pub at: String,
    /// `CorrelationId` (the storage request id).
    #[serde(rename = "WriterRequestId")]
    pub request_id: String,
    /// Whether it could be Bastion's: [`VOUCHES`], [`VOUCHES_IDENTITY_UNKNOWN`] or a
    /// [`Doubt`]'s value (empty: recorded before verdicts were stored).
    #[serde(rename = "WriterVerdict")]
    pub verdict: String,
    /// The recording identities (object ids) an `OAuth` write was compared with, comma-separated.
    #[serde(rename = "WriterExpected")]
    pub expected: String,
    /// The hosts recording into the container whose identity was unknown then, comma-separated,
    /// or `no host read` (empty: none unknown).
    #[serde(rename = "WriterUnknownHosts")]
    pub unknown_hosts: String,
    /// The hosts recording into the container whose identity no observation covers at the
    /// write's time, comma-separated (empty: none).
    #[serde(rename = "WriterUnobservedHosts")]
    pub unobserved_hosts: String,
}

impl Writer {
    /// This write judged against the recording identities `ids` of its container at its time
    /// (module doc).
    #[must_use]
    pub fn judged(mut self, ids: &Identities) -> Self {
        let auth = self.authentication.as_str();
        self.expected = ids.expected();
        self.unknown_hosts = ids.unknown_text();
        self.unobserved_hosts = ids.unobserved_hosts.join(",");
        self.verdict = if auth.eq_ignore_ascii_case("SAS") {
            VOUCHES
        } else if !auth.eq_ignore_ascii_case("OAuth") {
            Doubt::OtherWriter.as_str()
        } else if ids.holds(&self.object_id) || ids.provisionally_holds(&self.object_id) {
            VOUCHES
        } else if ids.unknown {
            VOUCHES_IDENTITY_UNKNOWN
        } else if !ids.unobserved_hosts.is_empty() {
            VOUCHES_IDENTITY_UNOBSERVED
        } else {
            Doubt::NotRecordingIdentity.as_str()
        }
        .to_owned();
        self
    }

    /// Why the content cannot be Bastion's, if it cannot.
    pub fn doubt(&self) -> Option<Doubt> {
        if self.verdict.is_empty() {
            let vouching = VOUCHING_AUTH
                .iter()
                .any(|a| self.authentication.eq_ignore_ascii_case(a));
            return (!vouching).then_some(Doubt::OtherWriter);
        }
        Doubt::parse(&self.verdict).filter(|d| d.is_writers())
    }

    /// True when the content could be Bastion's.
    pub fn vouches(&self) -> bool {
        self.doubt().is_none()
    }

    /// True when it wrote content `etag`.
    pub fn wrote(&self, etag: &str) -> bool {
        self.etag == normalize_etag(etag)
    }

    /// The writer to keep when `next` is read for the same row: `next`, unless this one wrote the
    /// same content and does not vouch (a doubt once found about a content stays).
    pub fn keep_or<'a>(this: Option<&'a Self>, next: &'a Self) -> &'a Self {
        match this {
            Some(w) if w.etag == next.etag && !w.vouches() => w,
            _ => next,
        }
    }

    /// Reads the `Writer*` properties; `None` when the row has no `WriterEtag`.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        Some(get_record::<Self>(e)).filter(|w| !w.etag.is_empty())
    }

    /// The public JSON (API, `recording.suspect`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "etag": self.etag, "operation": self.operation,
            "authenticationType": self.authentication, "authenticationHash": self.auth_hash,
            "requesterUpn": self.upn, "requesterObjectId": self.object_id,
            "requesterAppId": self.app_id, "callerIpAddress": self.caller_ip,
            "time": self.at, "requestId": self.request_id,
            "verdict": self.verdict, "recordingIdentities": self.expected,
            "hostsIdentityUnknown": self.unknown_hosts,
            "hostsIdentityUnobserved": self.unobserved_hosts,
        })
    }
}

#[cfg(test)]
mod tests;

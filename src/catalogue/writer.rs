//! Who wrote a recording's current content, as the storage account's `StorageBlobLogs` name the
//! write request (`Writer*` properties of the catalogue row), read by the changes pass of
//! `CustodyActor` ([`crate::recordings`]), and whether that write could be Bastion's
//! (`WriterVerdict`). Bastion writes recordings through the SAS URL its host was given or, since
//! API 2026-01-01, through the managed identity its `sessionRecordingConfiguration` names (an
//! `OAuth` request by that identity's object id). The verdict, decided when the write is recorded:
//!
//! - a SAS write vouches;
//! - an `OAuth` write vouches when its `RequesterObjectId` is the recording identity of a host
//!   recording into the container ([`super::identity`]), whatever other hosts are unknown; by
//!   another object id it does not (`writer-not-recording-identity`) when every host recording
//!   there was read with its identity; when one was read without (or none was read), such a write
//!   cannot be ruled out, since it may be that host's: it is `vouches-identity-unknown` (the match
//!   stands, the row naming the identities compared and the hosts whose identity is unknown),
//!   and is judged again when the container's identities change ([`super::rejudge`]);
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

use super::identity::Identities;
use super::recording::Doubt;
use crate::storage::normalize_etag;
use crate::tables::Entity;

/// The `AuthenticationType`s Bastion writes recordings with: its SAS URL, or its managed identity.
pub const VOUCHING_AUTH: [&str; 2] = ["SAS", "OAuth"];
/// `WriterVerdict` of a write that could be Bastion's.
pub const VOUCHES: &str = "vouches";
/// `WriterVerdict` of an `OAuth` write while the container's recording identity is unknown.
pub const VOUCHES_IDENTITY_UNKNOWN: &str = "vouches-identity-unknown";

/// The write request that made a recording's content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writer {
    /// The content it wrote (the row's ETag when it was recorded; quotes dropped).
    pub etag: String,
    /// `OperationName` (`PutBlob`, `PutBlockList`, `CopyBlob`, `FlushWithClose`, …).
    pub operation: String,
    /// `AuthenticationType` (`SAS`, `AccountKey`, `OAuth`, `Anonymous`, …).
    pub authentication: String,
    /// `AuthenticationHash` (which key or token, hashed; empty when not logged).
    pub auth_hash: String,
    /// `RequesterUpn` (OAuth users only).
    pub upn: String,
    /// `RequesterObjectId` (OAuth only).
    pub object_id: String,
    /// `RequesterAppId` (OAuth only).
    pub app_id: String,
    /// `CallerIpAddress` (`ip:port`).
    pub caller_ip: String,
    /// `TimeGenerated` of the request (RFC 3339).
    pub at: String,
    /// `CorrelationId` (the storage request id).
    pub request_id: String,
    /// Whether it could be Bastion's: [`VOUCHES`], [`VOUCHES_IDENTITY_UNKNOWN`] or a
    /// [`Doubt`]'s value (empty: recorded before verdicts were stored).
    pub verdict: String,
    /// The recording identities (object ids) an `OAuth` write was compared with, comma-separated.
    pub expected: String,
    /// The hosts recording into the container whose identity was unknown then, comma-separated,
    /// or `no host read` (empty: none unknown).
    pub unknown_hosts: String,
}

const FIELDS: [&str; 13] = [
    "WriterEtag",
    "WriterOperation",
    "WriterAuthType",
    "WriterAuthHash",
    "WriterUpn",
    "WriterObjectId",
    "WriterAppId",
    "WriterCallerIp",
    "WriterAt",
    "WriterRequestId",
    "WriterVerdict",
    "WriterExpected",
    "WriterUnknownHosts",
];

impl Writer {
    /// This write judged against the recording identities `ids` of its container (module doc).
    #[must_use]
    pub fn judged(mut self, ids: &Identities) -> Self {
        let auth = self.authentication.as_str();
        self.expected = ids.principals.join(",");
        self.unknown_hosts = ids.unknown_text();
        self.verdict = if auth.eq_ignore_ascii_case("SAS") {
            VOUCHES
        } else if !auth.eq_ignore_ascii_case("OAuth") {
            Doubt::OtherWriter.as_str()
        } else if ids.holds(&self.object_id) {
            VOUCHES
        } else if ids.unknown {
            VOUCHES_IDENTITY_UNKNOWN
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

    fn values(&self) -> [&str; 13] {
        [
            &self.etag,
            &self.operation,
            &self.authentication,
            &self.auth_hash,
            &self.upn,
            &self.object_id,
            &self.app_id,
            &self.caller_ip,
            &self.at,
            &self.request_id,
            &self.verdict,
            &self.expected,
            &self.unknown_hosts,
        ]
    }

    /// Writes the `Writer*` properties into `e`.
    pub fn to_entity(&self, e: &mut Entity) {
        for (k, v) in FIELDS.into_iter().zip(self.values()) {
            e.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
        }
    }

    /// Reads the `Writer*` properties; `None` when the row has no `WriterEtag`.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        let s = |k: &str| crate::tables::get_str(e, k).unwrap_or_default().to_owned();
        let etag = s(FIELDS[0]);
        (!etag.is_empty()).then(|| Self {
            etag,
            operation: s(FIELDS[1]),
            authentication: s(FIELDS[2]),
            auth_hash: s(FIELDS[3]),
            upn: s(FIELDS[4]),
            object_id: s(FIELDS[5]),
            app_id: s(FIELDS[6]),
            caller_ip: s(FIELDS[7]),
            at: s(FIELDS[8]),
            request_id: s(FIELDS[9]),
            verdict: s(FIELDS[10]),
            expected: s(FIELDS[11]),
            unknown_hosts: s(FIELDS[12]),
        })
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(auth: &str, etag: &str) -> Writer {
        Writer {
            etag: normalize_etag(etag).to_owned(),
            operation: "PutBlob".into(),
            authentication: auth.into(),
            auth_hash: "key1(AB),SasSignature(CD)".into(),
            caller_ip: "203.0.113.7:50112".into(),
            at: "2025-03-14T09:00:00Z".into(),
            request_id: "r1".into(),
            ..Writer::default()
        }
    }

    #[test]
    fn only_a_sas_or_identity_write_vouches_and_a_doubt_about_one_content_stays() {
        let sas = written("SAS", "\"0x1\"");
        assert!(sas.vouches() && sas.wrote("0x1") && sas.wrote("\"0x1\""));
        assert!(!sas.wrote("0x2"));
        assert!(
            written("OAuth", "0x1").vouches(),
            "a host's managed identity"
        );
        for other in ["AccountKey", "Anonymous", "Kerberos", ""] {
            assert!(!written(other, "0x1").vouches(), "{other}");
        }
        let key = written("AccountKey", "0x1");
        assert_eq!(Writer::keep_or(Some(&key), &sas), &key, "the doubt stays");
        assert_eq!(Writer::keep_or(Some(&sas), &key), &key);
        let next = written("SAS", "0x2");
        assert_eq!(Writer::keep_or(Some(&key), &next), &next, "new content");
        assert_eq!(Writer::keep_or(None, &sas), &sas);
        let mut e = Entity::new();
        key.to_entity(&mut e);
        assert_eq!(Writer::from_entity(&e), Some(key.clone()));
        assert_eq!(Writer::from_entity(&Entity::new()), None);
        assert_eq!(key.json()["authenticationType"], "AccountKey");
        assert_eq!(key.json()["callerIpAddress"], "203.0.113.7:50112");
    }

    #[test]
    fn an_entra_write_vouches_by_the_recording_identity_or_while_it_is_unknown() {
        let known = Identities {
            principals: vec!["0b5e".into()],
            ..Identities::default()
        };
        let mut entra = written("OAuth", "0x1");
        entra.object_id = "0B5E".into();
        let by_host = entra.clone().judged(&known);
        assert_eq!(
            (by_host.verdict.as_str(), by_host.vouches()),
            (VOUCHES, true)
        );
        assert_eq!(by_host.expected, "0b5e");
        entra.object_id = "9a8b".into();
        let other = entra.clone().judged(&known);
        assert_eq!(other.doubt(), Some(Doubt::NotRecordingIdentity));
        assert_eq!(other.unknown_hosts, "", "every host known");
        let unknown = entra.clone().judged(&Identities::unknown());
        assert_eq!(unknown.verdict, VOUCHES_IDENTITY_UNKNOWN);
        assert_eq!(unknown.unknown_hosts, "no host read");
        assert!(unknown.vouches());
        // Two hosts, one known: the known identity decides for its own writes; another
        // principal's cannot be ruled out (it may be the unknown host's).
        let mixed = Identities {
            unknown: true,
            unknown_hosts: vec!["/s/hosts/b2".into()],
            ..known.clone()
        };
        let not_ruled_out = entra.clone().judged(&mixed);
        assert_eq!(not_ruled_out.verdict, VOUCHES_IDENTITY_UNKNOWN);
        assert_eq!(
            (
                not_ruled_out.expected.as_str(),
                not_ruled_out.unknown_hosts.as_str()
            ),
            ("0b5e", "/s/hosts/b2")
        );
        entra.object_id = "0b5e".into();
        assert_eq!(
            entra.judged(&mixed).verdict,
            VOUCHES,
            "the known host's own"
        );
        let sas = written("SAS", "0x1").judged(&known);
        assert_eq!(sas.verdict, VOUCHES);
        let key = written("AccountKey", "0x1").judged(&Identities::unknown());
        assert_eq!(key.doubt(), Some(Doubt::OtherWriter));
        // A row from before verdicts: the authentication type alone.
        assert!(written("OAuth", "0x1").vouches());
        assert_eq!(
            written("AccountKey", "0x1").doubt(),
            Some(Doubt::OtherWriter)
        );
    }
}

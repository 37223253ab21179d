//! Who wrote a recording's current content, as the storage account's `StorageBlobLogs` name the
//! write request (`Writer*` properties of the catalogue row), read by the changes pass of
//! `CustodyActor` ([`crate::recordings`]). Bastion writes recordings through the SAS URL its host
//! was given or, since API 2026-01-01, through the managed identity its
//! `sessionRecordingConfiguration` names (an `OAuth` request). A content written otherwise (an
//! account key, anonymously) vouches for no session: the join makes its match `suspect`
//! (`written-by-other-principal`). An `OAuth` write vouches: the identity is kept on the row but
//! not compared with the host's, so an Entra principal with write access is not told from the host.
//!
//! What the log allows and what it does not: `AuthenticationType` tells a SAS from an account key,
//! OAuth or anonymous request; for a SAS, `AuthenticationHash` is `key1(…)` or `key2(…)` (or
//! `user-delegation(…)`) and `SasSignature(…)`, SHA-256 hashes of the signing key and of the SAS
//! token. The product never holds the host's SAS, so it cannot tell the host's SAS from another
//! SAS on the same account: any SAS write vouches, and the hash is kept on the row for a reviewer
//! to compare between recordings. Outside values are kept as logged and rendered as text.

use crate::storage::normalize_etag;
use crate::tables::Entity;

/// The `AuthenticationType`s Bastion writes recordings with: its SAS URL, or its managed identity.
pub const VOUCHING_AUTH: [&str; 2] = ["SAS", "OAuth"];

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
}

const FIELDS: [&str; 10] = [
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
];

impl Writer {
    /// True when the content could be Bastion's: written through a SAS or an Entra identity.
    pub fn vouches(&self) -> bool {
        VOUCHING_AUTH
            .iter()
            .any(|a| self.authentication.eq_ignore_ascii_case(a))
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

    fn values(&self) -> [&str; 10] {
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
}

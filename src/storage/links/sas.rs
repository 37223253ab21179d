//! A read-only user-delegation SAS for one blob (the 24-field string-to-sign of `sv` 2020-12-06
//! and later, HMAC-SHA256 under the key).

use percent_encoding::{AsciiSet, utf8_percent_encode};

use crate::azure::sas::{SAS_VERSION, VALUE, encode_value, sign};

/// A user delegation key as returned by Get User Delegation Key (times as the service wrote them).
#[derive(Clone, PartialEq, Eq)]
pub struct DelegationKey {
    /// `SignedOid`.
    pub oid: String,
    /// `SignedTid`.
    pub tid: String,
    /// `SignedStart`, `YYYY-MM-DDThh:mm:ssZ`.
    pub start: String,
    /// `SignedExpiry`, same format.
    pub expiry: String,
    /// `SignedService` (`b`).
    pub service: String,
    /// `SignedVersion`.
    pub version: String,
    /// The key bytes (the base64-decoded `Value`).
    pub value: Vec<u8>,
}

crate::telemetry::debug_fields!(DelegationKey { oid, expiry });

/// What one token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobGrant<'a> {
    /// Storage account name.
    pub account: &'a str,
    /// Container.
    pub container: &'a str,
    /// Blob name (unencoded).
    pub blob: &'a str,
    /// `st`.
    pub start: &'a str,
    /// `se`.
    pub expiry: &'a str,
    /// `spr`: `https` in Azure; `https,http` only for local emulators.
    pub protocol: &'a str,
}

/// The string-to-sign of a read-only (`sp=r`) blob (`sr=b`) user-delegation SAS.
pub fn string_to_sign(key: &DelegationKey, g: &BlobGrant<'_>) -> String {
    let resource = format!("/blob/{}/{}/{}", g.account, g.container, g.blob);
    [
        "r",
        g.start,
        g.expiry,
        &resource,
        &key.oid,
        &key.tid,
        &key.start,
        &key.expiry,
        &key.service,
        &key.version,
        "", // signedAuthorizedUserObjectId
        "", // signedUnauthorizedUserObjectId
        "", // signedCorrelationId
        "", // signedIP
        g.protocol,
        SAS_VERSION,
        "b",
        "", // signedSnapshotTime
        "", // signedEncryptionScope
        "", // rscc
        "", // rscd
        "", // rsce
        "", // rscl
        "", // rsct
    ]
    .join("\n")
}

/// The SAS query string (without `?`).
pub fn token(key: &DelegationKey, g: &BlobGrant<'_>) -> String {
    let sig = sign(&key.value, &string_to_sign(key, g));
    let e = encode_value;
    format!(
        "sv={SAS_VERSION}&sr=b&sp=r&st={}&se={}&spr={}&skoid={}&sktid={}&skt={}&ske={}&sks={}&skv={}&sig={}",
        e(g.start),
        e(g.expiry),
        e(g.protocol),
        e(&key.oid),
        e(&key.tid),
        e(&key.start),
        e(&key.expiry),
        e(&key.service),
        e(&key.version),
        e(&sig)
    )
}

/// Blob-name path encoding: `/` separates virtual directories and stays literal.
const PATH: &AsciiSet = &VALUE.remove(b'/');

/// `endpoint/container/blob?token` (endpoint without trailing slash, path-style on emulators).
pub fn url(endpoint: &str, container: &str, blob: &str, token: &str) -> String {
    format!(
        "{}/{container}/{}?{token}",
        endpoint.trim_end_matches('/'),
        utf8_percent_encode(blob, PATH)
    )
}

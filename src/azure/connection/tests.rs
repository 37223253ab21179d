//! Tests for connection resolution: every supported form, and the errors for the rest.

use super::*;
use crate::testkit::maps::lookup as env;

/// The connection `name` resolves to with only `pairs` set.
fn resolved(name: &str, pairs: &[(&str, &str)]) -> StorageConnection {
    StorageConnection::resolve(name, &env(pairs))
        .expect("ok")
        .expect("some")
}

#[test]
fn development_storage_points_at_azurite() {
    let c = resolved(
        "AzureWebJobsStorage",
        &[("AzureWebJobsStorage", "UseDevelopmentStorage=true")],
    );
    assert_eq!(c.account, DEV_ACCOUNT);
    assert_eq!(c.blob.as_str(), "http://127.0.0.1:10000/devstoreaccount1");
    assert_eq!(c.table.as_str(), "http://127.0.0.1:10002/devstoreaccount1");
    assert!(matches!(c.auth, StorageAuth::Key(_)));
}

#[test]
fn account_key_strings_with_suffix_or_explicit_endpoints() {
    let c = resolved(
        "S",
        &[(
            "S",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.usgovcloudapi.net",
        )],
    );
    assert_eq!(c.blob.as_str(), "https://acct.blob.core.usgovcloudapi.net/");
    let c = resolved(
        "S",
        &[(
            "S",
            "AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:5555/devstoreaccount1;QueueEndpoint=http://127.0.0.1:5556/devstoreaccount1;TableEndpoint=http://127.0.0.1:5557/devstoreaccount1",
        )],
    );
    assert_eq!(c.queue.port(), Some(5556));
    assert!(
        !format!("{c:?}").contains("a2V5"),
        "keys never appear in Debug output"
    );
}

#[test]
fn identity_settings_resolve_to_managed_identity() {
    let c = resolved(
        "R",
        &[("R__accountName", "stbastrecweu01"), ("R__clientId", "cid")],
    );
    assert_eq!(
        c.blob.as_str(),
        "https://stbastrecweu01.blob.core.windows.net/"
    );
    assert_eq!(
        c.auth,
        StorageAuth::ManagedIdentity {
            client_id: Some("cid".into()),
            token_endpoint: IMDS_ENDPOINT.into(),
        }
    );
    let c = resolved(
        "R",
        &[
            ("R__blobServiceUri", "https://x.blob.core.chinacloudapi.cn"),
            (
                "R__queueServiceUri",
                "https://x.queue.core.chinacloudapi.cn",
            ),
            (
                "R__tableServiceUri",
                "https://x.table.core.chinacloudapi.cn",
            ),
        ],
    );
    assert_eq!(c.account, "x");
}

#[test]
fn absent_and_invalid_settings() {
    assert_eq!(
        StorageConnection::resolve("X", &env(&[])).expect("ok"),
        None
    );
    let errs = StorageConnection::resolve("X", &env(&[("X", "AccountKey=secretvalue")]))
        .expect_err("no account");
    assert!(errs.iter().any(|e| e.contains("AccountName")), "{errs:?}");
    assert!(
        errs.iter().all(|e| !e.contains("secretvalue")),
        "no secret in errors"
    );
    let errs = StorageConnection::resolve("X", &env(&[("X__blobServiceUri", "http://plain")]))
        .expect_err("http");
    assert!(errs.iter().any(|e| e.contains("https")), "{errs:?}");
}

#[test]
fn half_configured_or_unsupported_identity_settings_are_errors_naming_the_setting() {
    for pairs in [
        &[("X__credential", "managedidentity")][..],
        &[("X__clientId", "cid")][..],
    ] {
        let errs = StorageConnection::resolve("X", &env(pairs)).expect_err("half configured");
        let key = pairs[0].0;
        assert!(
            errs.iter()
                .any(|e| e.starts_with(key) && e.contains("X__accountName")),
            "{errs:?}"
        );
        assert!(
            errs.iter().all(|e| !e.contains("cid")),
            "no values: {errs:?}"
        );
    }
    let errs = StorageConnection::resolve(
        "X",
        &env(&[("X__accountName", "a"), ("X__credential", "clientsecret")]),
    )
    .expect_err("unsupported credential");
    assert_eq!(errs, ["X__credential: only managedidentity is supported"]);
    let c = resolved(
        "X",
        &[
            ("X__accountName", "a"),
            ("X__credential", "ManagedIdentity"),
        ],
    );
    assert_eq!(
        c.auth,
        StorageAuth::ManagedIdentity {
            client_id: None,
            token_endpoint: IMDS_ENDPOINT.into(),
        }
    );
    assert_eq!(c.timeouts, Timeouts::default());
}

#[test]
fn the_endpoint_is_the_one_the_sdk_chooses() {
    let app = |k: &str| match k {
        "IDENTITY_ENDPOINT" => Some("http://127.0.0.1:41000/msi/token?x=1".to_owned()),
        "IDENTITY_HEADER" => Some("h".to_owned()),
        _ => None,
    };
    assert_eq!(token_endpoint(&app), "http://127.0.0.1:41000/msi/token");
    let half = |k: &str| (k == "IDENTITY_ENDPOINT").then(|| "http://x/".to_owned());
    assert_eq!(token_endpoint(&half), IMDS_ENDPOINT);
    assert_eq!(token_endpoint(&|_| None), IMDS_ENDPOINT);
}

#[test]
fn a_misspelt_key_is_named_but_no_value_ever() {
    let errs = StorageConnection::resolve(
        "X",
        &env(&[("X", "AccountName=a;AcountKey=secretvalue;zz=morevalue")]),
    )
    .expect_err("no key");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0],
        "X: the connection string has no AccountKey (a misspelt key? it has AcountKey for AccountKey)"
    );
    // A fragment of a value cut off by a stray `;` is not near a key's name: never printed.
    let errs = StorageConnection::resolve("X", &env(&[("X", "AccountName=a;AccountKey=;abc=def")]))
        .expect_err("empty key");
    assert!(errs.iter().all(|e| !e.contains("abc")), "{errs:?}");
    assert!(near_miss("acountname", "AccountName") && !near_miss("abc", "AccountKey"));
}

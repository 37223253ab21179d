//! The user-delegation SAS against a vector computed independently (Python `hmac` over the
//! documented 24-field layout), token and URL encoding, and the settings.

use super::sas::{BlobGrant, DelegationKey, string_to_sign, token, url};
use super::{DEFAULT_MINUTES, KEY_REASON, Link, for_connection, lifetime};
use crate::azure::sas::{SAS_VERSION, sign};
use crate::storage::BlobRef;
use time::Duration;
use time::macros::datetime;

pub(crate) fn key() -> DelegationKey {
    DelegationKey {
        oid: "11111111-1111-1111-1111-111111111111".into(),
        tid: "22222222-2222-2222-2222-222222222222".into(),
        start: "2025-03-14T09:00:00Z".into(),
        expiry: "2025-03-14T11:00:00Z".into(),
        service: "b".into(),
        version: "2022-11-02".into(),
        value: b"0123456789abcdef0123456789abcdef".to_vec(),
    }
}

fn grant() -> BlobGrant<'static> {
    BlobGrant {
        account: "acct",
        container: "recordings",
        blob: "2025/03/14/vm 1/a.mp4",
        start: "2025-03-14T09:55:00Z",
        expiry: "2025-03-14T10:15:00Z",
        protocol: "https",
    }
}

#[test]
fn string_to_sign_follows_the_documented_layout() {
    let s = string_to_sign(&key(), &grant());
    let fields: Vec<&str> = s.split('\n').collect();
    assert_eq!(fields.len(), 24, "{s:?}");
    assert_eq!(fields[0], "r");
    assert_eq!(
        fields[3], "/blob/acct/recordings/2025/03/14/vm 1/a.mp4",
        "unencoded name"
    );
    assert_eq!(
        &fields[4..10],
        [
            "11111111-1111-1111-1111-111111111111",
            "22222222-2222-2222-2222-222222222222",
            "2025-03-14T09:00:00Z",
            "2025-03-14T11:00:00Z",
            "b",
            "2022-11-02"
        ]
    );
    assert_eq!(
        (fields[14], fields[15], fields[16]),
        ("https", SAS_VERSION, "b")
    );
    assert!(
        fields[10..14]
            .iter()
            .chain(&fields[17..])
            .all(|f| f.is_empty())
    );
}

#[test]
fn signature_matches_an_independent_computation() {
    // python3: base64(hmac.new(key, "\n".join(fields).encode(), sha256).digest())
    assert_eq!(
        sign(&key().value, &string_to_sign(&key(), &grant())),
        "VzysvMb62Oy9rtG+QbkjCpYyanp5v2Opa31k4bckFSs="
    );
    let mut other = key();
    other.value[0] ^= 1;
    assert_ne!(sign(&other.value, "x"), sign(&key().value, "x"));
}

#[test]
fn token_and_url_are_encoded() {
    let t = token(&key(), &grant());
    for part in [
        "sv=2022-11-02",
        "sr=b",
        "sp=r",
        "st=2025-03-14T09%3A55%3A00Z",
        "spr=https",
        "skoid=11111111-1111-1111-1111-111111111111",
        "sks=b",
        "skv=2022-11-02",
        "sig=VzysvMb62Oy9rtG%2BQbkjCpYyanp5v2Opa31k4bckFSs%3D",
    ] {
        assert!(t.split('&').any(|p| p == part), "{part} in {t}");
    }
    assert!(
        !t.contains("sp=rw") && !t.contains("sk="),
        "read-only, no account key"
    );
    let u = url(
        "https://acct.blob.core.windows.net/",
        "recordings",
        "2025/03/14/vm 1/a#b.mp4",
        "x=1",
    );
    assert_eq!(
        u,
        "https://acct.blob.core.windows.net/recordings/2025/03/14/vm%201/a%23b.mp4?x=1"
    );
}

#[test]
fn lifetime_is_bounded() {
    let m = |v: &str| crate::setting::read_pairs(&[("CATALOGUE_LINK_MINUTES", v)], lifetime);
    assert_eq!(
        m(""),
        (Duration::minutes(i64::from(DEFAULT_MINUTES)), vec![])
    );
    assert_eq!(m("5"), (Duration::minutes(5), vec![]));
    assert_eq!(m("60"), (Duration::minutes(60), vec![]));
    for bad in ["0", "-5", "soon", "600"] {
        assert_eq!(
            m(bad).1,
            ["CATALOGUE_LINK_MINUTES: expected a whole number from 1 to 60"],
            "{bad}"
        );
    }
}

#[tokio::test]
async fn key_connections_never_get_links() {
    let env =
        |k: &str| (k == "AzureWebJobsStorage").then(|| "UseDevelopmentStorage=true".to_owned());
    let conn = crate::azure::connection::StorageConnection::resolve("AzureWebJobsStorage", &env)
        .expect("resolve")
        .expect("configured");
    let blob = BlobRef::new("recordings", "a");
    let now = datetime!(2025-03-14 10:00 UTC);
    let l = for_connection(Some(&conn))
        .issue(&blob, now, Duration::minutes(5))
        .await;
    assert_eq!(l, Link::Unavailable(KEY_REASON.into()));
    assert!(l.audit_text().starts_with("unavailable: "));
    let l = for_connection(None)
        .issue(&blob, now, Duration::minutes(5))
        .await;
    assert!(matches!(l, Link::Unavailable(_)));
    let issued = Link::Issued {
        url: "https://x?sig=SECRET".into(),
        expires: now,
    };
    assert_eq!(
        issued.audit_text(),
        "issued until 2025-03-14T10:00:00Z",
        "never the signature"
    );
}

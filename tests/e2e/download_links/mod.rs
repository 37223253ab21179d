//! Download links end to end on Azurite: a user delegation key obtained through the
//! product's own [`DelegationIssuer`] (real Get User Delegation Key over HTTPS with a bearer
//! token), a link signed by the product's signer, and Azurite's own SAS validation deciding:
//! the link reads the exact blob, and any tampering (permissions, expiry, another blob, a write)
//! is refused. Needs `TEST_AZURITE=1`, an Azurite install and the `openssl` CLI.

use std::sync::Arc;

use azure_core::http::Transport;
use bastion_recordings::dates::format_utc;
use bastion_recordings::storage::BlobRef;
use bastion_recordings::storage::links::delegation::DelegationIssuer;
use bastion_recordings::storage::links::{Link, LinkIssuer};
use reqwest::StatusCode;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::harness::unique;
use crate::tls_azurite::{ACCOUNT, FakeEntra, TlsAzurite, VERSION};

/// A `PUT` authorized with a bearer token (Azurite `--oauth basic` accepts it for data calls).
async fn put(http: &reqwest::Client, url: String, body: Option<&'static [u8]>) {
    let mut req = http
        .put(url)
        .bearer_auth(FakeEntra::jwt())
        .header("x-ms-version", VERSION);
    if let Some(b) = body {
        req = req.header("x-ms-blob-type", "BlockBlob").body(b);
    } else {
        req = req.header("content-length", "0");
    }
    let resp = req.send().await.expect("put");
    assert!(resp.status().is_success(), "setup PUT: {}", resp.status());
}

fn blob_url(az: &TlsAzurite, container: &str, name: &str) -> String {
    let path = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2F", "/");
    format!("{}/{container}/{path}", az.endpoint)
}

async fn issue(issuer: &DelegationIssuer, blob: &BlobRef) -> String {
    match issuer
        .issue(blob, OffsetDateTime::now_utc(), Duration::minutes(15))
        .await
    {
        Link::Issued { url, .. } => url,
        Link::Unavailable(why) => panic!("no link issued: {why}"),
    }
}

fn param<'a>(url: &'a str, name: &str) -> &'a str {
    let query = url.split_once('?').expect("query").1;
    query
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} missing from {query}"))
}

/// `se` (as it appears in the link) one hour later, same format and encoding.
fn later(se: &str) -> String {
    let raw = percent_encoding::percent_decode_str(se)
        .decode_utf8()
        .expect("utf8");
    let t = OffsetDateTime::parse(&raw, &Rfc3339).expect("se is RFC 3339");
    format_utc(t + Duration::hours(1)).replace(':', "%3A")
}

async fn status(http: &reqwest::Client, url: &str) -> StatusCode {
    http.get(url).send().await.expect("get").status()
}

#[tokio::test]
async fn delegation_sas_from_real_key_reads_exact_blob_and_tampering_is_refused() {
    if std::env::var("TEST_AZURITE").ok().as_deref() != Some("1") {
        eprintln!("skipping: TEST_AZURITE is not 1 (download links need an HTTPS OAuth Azurite)");
        return;
    }
    let Some(az) = TlsAzurite::start() else {
        return;
    };
    let http = az.client();
    let container = unique("links");
    let (plain, odd, other) = (
        "vm-a/2026/session.rec",
        "vm b/ü=é+x#1.rec",
        "vm-a/other.rec",
    );
    put(
        &http,
        format!("{}/{container}?restype=container", az.endpoint),
        None,
    )
    .await;
    put(
        &http,
        blob_url(&az, &container, plain),
        Some(b"recording bytes \x00\xff"),
    )
    .await;
    put(&http, blob_url(&az, &container, odd), Some(b"odd name")).await;
    put(
        &http,
        blob_url(&az, &container, other),
        Some(b"someone else"),
    )
    .await;

    let transport = Transport::new(Arc::new(http.clone()));
    let issuer = DelegationIssuer::with_credential(
        ACCOUNT,
        &az.endpoint,
        Arc::new(FakeEntra),
        Some(transport),
    )
    .expect("issuer");
    let link = issue(&issuer, &BlobRef::new(&container, plain)).await;
    assert_eq!(param(&link, "sp"), "r");
    assert_eq!(param(&link, "sr"), "b");
    assert_eq!(
        param(&link, "spr"),
        "https",
        "an https endpoint gets https-only links"
    );
    assert!(
        param(&link, "skoid").len() > 10,
        "a user-delegation SAS names the key's oid"
    );

    // The link as issued: Azurite recomputes the key and signature and serves the exact bytes.
    let resp = http.get(&link).send().await.expect("get link");
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "Azurite rejected our SAS: {link}"
    );
    assert_eq!(
        &resp.bytes().await.expect("body")[..],
        b"recording bytes \x00\xff"
    );

    // A name needing percent-encoding (space, non-ASCII, `=`, `+`, `#`) signs and reads too.
    let odd_link = issue(&issuer, &BlobRef::new(&container, odd)).await;
    let resp = http.get(&odd_link).send().await.expect("get odd link");
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "odd name rejected: {odd_link}"
    );
    assert_eq!(&resp.bytes().await.expect("body")[..], b"odd name");
    assert_eq!(
        param(&odd_link, "skt"),
        param(&link, "skt"),
        "the key is cached and reused"
    );

    let (_, query) = link.split_once('?').expect("query");
    let tampered = [
        ("sp=w", link.replace("sp=r&", "sp=w&")),
        ("sp=rw", link.replace("sp=r&", "sp=rw&")),
        ("sr=c", link.replace("sr=b&", "sr=c&")),
        ("spr=http", link.replace("spr=https&", "spr=https%2Chttp&")),
        (
            "later se",
            link.replace(param(&link, "se"), &later(param(&link, "se"))),
        ),
        (
            "other blob",
            format!("{}?{query}", blob_url(&az, &container, other)),
        ),
        (
            "no sig",
            link.replace(&format!("sig={}", param(&link, "sig")), ""),
        ),
    ];
    for (what, url) in &tampered {
        assert_ne!(url, &link, "{what}: tampering must change the link");
        assert_eq!(
            status(&http, url).await,
            StatusCode::FORBIDDEN,
            "{what} accepted: {url}"
        );
    }

    // A link issued in the past (same cached key, still valid) has expired: refused, not served.
    let stale = issuer
        .issue(
            &BlobRef::new(&container, plain),
            OffsetDateTime::now_utc() - Duration::minutes(30),
            Duration::minutes(15),
        )
        .await;
    let Link::Issued { url: stale, .. } = stale else {
        panic!("no stale link: {stale:?}")
    };
    assert_eq!(
        status(&http, &stale).await,
        StatusCode::FORBIDDEN,
        "expired link served"
    );

    // A read link cannot write: overwriting the blob through it is refused and the bytes stay.
    let write = http
        .put(&link)
        .header("x-ms-blob-type", "BlockBlob")
        .header("x-ms-version", VERSION)
        .body(&b"overwritten"[..])
        .send()
        .await
        .expect("put via link");
    assert_eq!(write.status(), StatusCode::FORBIDDEN);
    let again = http.get(&link).send().await.expect("get again");
    assert_eq!(
        &again.bytes().await.expect("body")[..],
        b"recording bytes \x00\xff"
    );
}

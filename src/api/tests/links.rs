//! Download links through the API: off by default (no `download` member), on with an issuer that
//! cannot sign (explicit reason), on with a signing issuer (a read-only link, audited).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{get, row};
use crate::api::ApiSettings;
use crate::dates::format_utc;
use crate::storage::BlobRef;
use crate::storage::links::sas::{BlobGrant, token, url};
use crate::storage::links::{KEY_REASON, Link, LinkIssuer, NoLinks};
use crate::tables::TableStore;
use crate::testkit::{Fakes, fakes};

/// Signs with a fixed delegation key, as [`super::super::links::delegation`] does with a real one.
struct FixedKey;

#[async_trait]
impl LinkIssuer for FixedKey {
    async fn issue(&self, blob: &BlobRef, now: OffsetDateTime, life: Duration) -> Link {
        let (st, se) = (format_utc(now), format_utc(now + life));
        let g = BlobGrant {
            account: "acct",
            container: &blob.container,
            blob: &blob.name,
            start: &st,
            expiry: &se,
            protocol: "https",
        };
        let key = crate::storage::links::tests::key();
        Link::Issued {
            url: url(
                "https://acct.blob.core.windows.net",
                &blob.container,
                &blob.name,
                &token(&key, &g),
            ),
            expires: now + life,
        }
    }
}

fn on() -> ApiSettings {
    ApiSettings {
        download_links: true,
        ..ApiSettings::key_only()
    }
}

async fn read(f: &Fakes, s: ApiSettings, id: &str) -> Value {
    let (status, _, body) = get(f, s, &format!("/api/recordings/{id}"), &[]).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

async fn audit_links(f: &Fakes) -> Vec<Option<String>> {
    f.tables
        .query("accessaudit", None, None, None)
        .await
        .expect("audit")
        .items
        .iter()
        .map(|s| {
            s.entity
                .get("Link")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn links_are_off_by_default() {
    let f = fakes();
    let id = row(&f, "a b.mp4", "2025-03-14T09:00:00Z", json!({})).await;
    let doc = read(&f, ApiSettings::key_only(), &id).await;
    assert!(doc.get("download").is_none(), "{doc}");
    assert_eq!(audit_links(&f).await, [None]);
}

#[tokio::test]
async fn without_a_delegation_capable_identity_the_reason_is_given() {
    let mut f = fakes();
    f.state.links = crate::storage::links::Links::one(Arc::new(NoLinks(KEY_REASON.into())));
    let id = row(&f, "a.mp4", "2025-03-14T09:00:00Z", json!({})).await;
    let doc = read(&f, on(), &id).await;
    assert_eq!(
        doc["download"],
        json!({"available": false, "reason": KEY_REASON})
    );
    assert!(!doc.to_string().contains("sig="));
    assert_eq!(
        audit_links(&f).await,
        [Some(format!("unavailable: {KEY_REASON}"))]
    );
}

#[tokio::test]
async fn with_an_identity_a_short_read_only_link_is_issued_and_audited() {
    let mut f = fakes();
    f.state.links = crate::storage::links::Links::one(Arc::new(FixedKey));
    let id = row(&f, "dir/a b.mp4", "2025-03-14T09:00:00Z", json!({})).await;
    let doc = read(&f, on(), &id).await;
    let d = &doc["download"];
    assert_eq!(d["available"], true, "{doc}");
    assert_eq!(
        d["expiresOn"], "2025-03-14T10:15:00Z",
        "default 15 minutes after now"
    );
    let u = d["url"].as_str().expect("url");
    assert!(
        u.starts_with("https://acct.blob.core.windows.net/recordings/dir/a%20b.mp4?"),
        "{u}"
    );
    assert!(
        u.contains("&sp=r&") && u.contains("&sr=b&") && u.contains("&skoid="),
        "{u}"
    );
    assert_eq!(
        audit_links(&f).await,
        [Some("issued until 2025-03-14T10:15:00Z".into())]
    );
    let short = ApiSettings {
        link_lifetime: Duration::minutes(5),
        ..on()
    };
    let doc = read(&f, short, &id).await;
    assert_eq!(doc["download"]["expiresOn"], "2025-03-14T10:05:00Z");
}

#[tokio::test]
async fn deleted_recordings_get_no_link() {
    let mut f = fakes();
    f.state.links = crate::storage::links::Links::one(Arc::new(FixedKey));
    let id = row(
        &f,
        "gone.mp4",
        "2025-03-14T09:00:00Z",
        json!({"Status": "deleted"}),
    )
    .await;
    let doc = read(&f, on(), &id).await;
    assert_eq!(doc["download"]["available"], false, "{doc}");
    let (status, _, _) = get(&f, on(), "/api/recordings/2025-03-14~bm9uZQ", &[]).await;
    assert_eq!(status, 404);
    let links = audit_links(&f).await;
    assert_eq!(links.len(), 2);
    assert!(
        links.contains(&None),
        "a not-found read is audited without a link: {links:?}"
    );
}

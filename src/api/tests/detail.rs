//! Detail reads, access audit and authorization.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{get, get_text, platform, principal, row};
use crate::api::ApiSettings;
use crate::catalogue::access::ACCESS_AUDIT_TABLE;
use crate::tables::get_str;
use crate::testkit::{fakes, upsert};

#[tokio::test]
async fn detail_joins_session_holds_tombstone_and_audits_every_read() {
    let f = fakes();
    let id = row(
        &f,
        "vm/rec.mp4",
        "2025-03-01T10:00:00Z",
        json!({"TunnelId": "t-1", "HoldIds": "case-7,gone"}),
    )
    .await;
    let t = f.tables.as_ref();
    for (table, e) in [
        (
            "sessions",
            json!({"PartitionKey": "t-1", "RowKey": "session", "UserName": "alice",
            "BastionHost": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/bh"}),
        ),
        (
            "holds",
            json!({"PartitionKey": "hold", "RowKey": "case-7", "Reason": "litigation", "Status": "active"}),
        ),
    ] {
        upsert(t, table, e).await;
    }
    let headers = [
        // What App Service's front end hands on: the caller's hop first, its own `client-ip`.
        ("x-forwarded-for", "6.6.6.6, 198.51.100.4"),
        ("client-ip", "198.51.100.4:5123"),
        ("user-agent", "curl/8"),
    ];
    let (s, _, body) = get(
        &f,
        ApiSettings::key_only(),
        &format!("/api/recordings/{id}"),
        &headers,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["recording"]["blobName"], "vm/rec.mp4");
    assert_eq!(v["session"]["UserName"], "alice");
    assert_eq!(
        v["holds"].as_array().map(Vec::len),
        Some(1),
        "unknown hold ids are skipped"
    );
    assert_eq!(v["tombstone"], Value::Null);
    assert_eq!(
        v["portalLink"],
        "https://portal.azure.com/#@/resource/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/bh/sessionRecordings"
    );
    assert_eq!(v["portalLinkScope"], "session-recordings");
    assert_eq!(v["integrity"], Value::Null, "not verified yet");
    // The integrity run's latest result, once there is one.
    let (pk, rk) = id.split_once('~').expect("id");
    upsert(
        t,
        "integritychecks",
        json!({"PartitionKey": pk, "RowKey": rk, "RecordingId": id,
            "VerifiedAt": "2025-03-02T03:00:00.000Z", "Result": "intact", "Run": "r-1"}),
    )
    .await;
    let (_, _, body) = get(
        &f,
        ApiSettings::key_only(),
        &format!("/api/recordings/{id}"),
        &headers,
    )
    .await;
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v["integrity"],
        json!({"verifiedAt": "2025-03-02T03:00:00.000Z", "result": "intact", "run": "r-1"})
    );
    for (uri, status) in [
        ("/api/recordings/2025-03-01~bm9uZQ", StatusCode::NOT_FOUND),
        ("/api/recordings/not-an-id", StatusCode::BAD_REQUEST),
    ] {
        let (s, _, _) = get(&f, ApiSettings::key_only(), uri, &headers).await;
        assert_eq!(s, status, "{uri}");
    }
    let audit: Vec<_> = f
        .tables
        .dump(ACCESS_AUDIT_TABLE)
        .into_iter()
        .map(|s| s.entity)
        .collect();
    assert_eq!(
        audit.len(),
        3,
        "one row per well-formed detail read (two of it)"
    );
    let found = audit
        .iter()
        .find(|e| get_str(e, "Outcome") == Some("found"))
        .expect("found row");
    assert_eq!(get_str(found, "Target"), Some(id.as_str()));
    assert_eq!(get_str(found, "ClientIp"), Some("198.51.100.4"));
    assert_eq!(get_str(found, "Who"), Some("function-key caller"));
    assert_eq!(
        get_str(found, "PartitionKey"),
        Some("2025-03-14"),
        "audit day = clock day"
    );
}

#[tokio::test]
async fn deleted_recordings_show_their_tombstone() {
    let f = fakes();
    let t = f.tables.as_ref();
    let e =
        json!({"PartitionKey": "2025-03-01", "RowKey": "YQ", "DeletedAt": "2025-04-01T00:00:00Z"});
    upsert(t, "deletions", e).await;
    let (s, body) = get_text(&f, "/api/recordings/2025-03-01~YQ").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["tombstone"]["DeletedAt"], "2025-04-01T00:00:00Z");
    assert_eq!(v["recording"], Value::Null);
}

#[tokio::test]
async fn principal_and_roles_are_enforced_behind_platform_authentication() {
    let f = fakes();
    let id = row(&f, "r", "2025-03-01T10:00:00Z", json!({})).await;
    let list = "/api/recordings?from=2025-03-01&to=2025-03-01";
    let detail = format!("/api/recordings/{id}");
    let reader = principal("auditor@contoso.com", &["Catalogue.Read"]);
    let holder = principal("auditor@contoso.com", &["Catalogue.Hold"]);
    let bad = [("x-ms-client-principal", "not base64!")];
    assert_eq!(
        get(&f, platform(), list, &bad).await.0,
        StatusCode::UNAUTHORIZED
    );
    let sessions = "/api/sessions?from=2025-03-13&to=2025-03-14";
    for uri in [list, sessions, "/api/ui", detail.as_str()] {
        for (hdr, want) in [
            (None, StatusCode::UNAUTHORIZED),
            (Some(&holder), StatusCode::FORBIDDEN),
            (Some(&reader), StatusCode::OK),
        ] {
            let headers: Vec<(&str, &str)> = hdr
                .map(|h| ("x-ms-client-principal", h.as_str()))
                .into_iter()
                .collect();
            let (s, ct, body) = get(&f, platform(), uri, &headers).await;
            assert_eq!(s, want, "{uri} {hdr:?}: {body}");
            if s != StatusCode::OK {
                assert_eq!(ct, "application/problem+json", "{uri}");
            } else if uri == "/api/ui" {
                assert_eq!(ct, "text/html; charset=utf-8");
            }
        }
    }
    let audit = f.tables.dump(ACCESS_AUDIT_TABLE);
    let mut actions: Vec<&str> = audit
        .iter()
        .filter_map(|r| get_str(&r.entity, "Action"))
        .collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        ["recording.read", "recordings.list", "sessions.list"],
        "refused reads are not recorded"
    );
    assert!(
        audit
            .iter()
            .all(|r| get_str(&r.entity, "Who") == Some("auditor@contoso.com"))
    );
    // Without the requirement, the same calls pass.
    let (s, _, _) = get(&f, ApiSettings::key_only(), list, &[]).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn an_id_longer_than_a_table_key_is_a_bad_request_not_an_outage() {
    let f = fakes();
    let uri = format!("/api/recordings/2025-03-14~{}", "A".repeat(2000));
    let (status, _, body) = get(&f, ApiSettings::key_only(), &uri, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// The access-audit row is stored but its answer lost, and the client's retry meets it (409): the
/// read is audited once and answered, not refused as an outage.
#[tokio::test]
async fn a_lost_answer_to_the_access_audit_still_answers_the_read() {
    let f = crate::testkit::fakes_losing(ACCESS_AUDIT_TABLE, || crate::azure::AzureError::Conflict);
    let id = row(&f, "vm/lost.mp4", "2025-03-01T10:00:00Z", json!({})).await;
    let uri = format!("/api/recordings/{id}");
    let (s, _, body) = get(&f, ApiSettings::key_only(), &uri, &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(f.tables.dump(ACCESS_AUDIT_TABLE).len(), 1);
}

/// List pages and CSV exports are recorded like detail reads: who, from where (the platform's
/// address), which query (never the function key) and how many rows.
#[tokio::test]
async fn list_pages_and_csv_exports_leave_an_access_audit_row() {
    let f = fakes();
    for name in ["a", "b", "c"] {
        row(&f, name, "2025-03-01T10:00:00Z", json!({})).await;
    }
    let reader = principal("auditor@contoso.com", &["Catalogue.Read"]);
    let headers = [
        ("x-ms-client-principal", reader.as_str()),
        ("client-ip", "198.51.100.7:50123"),
        ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
        ("user-agent", "curl/8"),
    ];
    for (uri, want_target, want_outcome) in [
        (
            "/api/recordings?to=2025-03-01&from=2025-03-01&code=secret-key&format=csv",
            "/api/recordings?format=csv&from=2025-03-01&to=2025-03-01",
            "listed 3 rows as csv",
        ),
        (
            "/api/recordings?from=2025-03-01&to=2025-03-01&limit=2",
            "/api/recordings?from=2025-03-01&limit=2&to=2025-03-01",
            "listed 2 rows as json",
        ),
        (
            "/api/sessions?from=2025-03-13&to=2025-03-14&user=al%3Bice",
            "/api/sessions?from=2025-03-13&to=2025-03-14&user=al%3Bice",
            "listed 0 rows as json",
        ),
    ] {
        let before = f.tables.dump(ACCESS_AUDIT_TABLE).len();
        let (s, _, body) = get(&f, platform(), uri, &headers).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {body}");
        let audit = f.tables.dump(ACCESS_AUDIT_TABLE);
        assert_eq!(audit.len(), before + 1, "{uri}");
        let new = audit
            .iter()
            .find(|r| get_str(&r.entity, "Target") == Some(want_target))
            .unwrap_or_else(|| panic!("{want_target} in {audit:?}"));
        let e = &new.entity;
        let list = if uri.starts_with("/api/sessions") {
            "sessions.list"
        } else {
            "recordings.list"
        };
        assert_eq!(get_str(e, "Action"), Some(list));
        assert_eq!(get_str(e, "Outcome"), Some(want_outcome), "{uri}");
        assert_eq!(get_str(e, "Who"), Some("auditor@contoso.com"));
        assert_eq!(get_str(e, "ClientIp"), Some("198.51.100.7"));
        assert!(
            !get_str(e, "Target")
                .unwrap_or_default()
                .contains("secret-key")
        );
    }
}

#[test]
fn the_portal_link_is_the_hosts_recordings_when_its_id_is_known_else_its_sources_host_else_the_host_list()
 {
    use std::sync::Arc;

    use crate::api::detail::portal_link;
    use crate::sources::{Source, Sources};
    use crate::testkit::storage::memory::InMemoryBlobStore;
    let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/bas-neu";
    let store = Arc::new(InMemoryBlobStore::new("a"));
    let sources = Sources::single(
        Source {
            bastion: Some("bas-neu".into()),
            bastion_id: Some(id.into()),
            ..Source::new(store.clone(), "recordings")
        },
        Source {
            bastion: Some("bas-weu".into()),
            ..Source::new(store, "logs")
        },
    );
    let recordings = format!("https://portal.azure.com/#@/resource{id}/sessionRecordings");
    // The session names the host by name: the source configured by id gives it.
    assert_eq!(
        portal_link(&sources, Some("BAS-NEU"), None),
        (recordings.clone(), "session-recordings")
    );
    assert_eq!(
        portal_link(&sources, Some(id), None),
        (recordings.clone(), "session-recordings")
    );
    let list = "https://portal.azure.com/#browse/Microsoft.Network%2FbastionHosts".to_owned();
    for unknown in [Some("bas-weu"), Some("other"), None] {
        assert_eq!(
            portal_link(&sources, unknown, None),
            (list.clone(), "bastion-list")
        );
        // A recording of no (or an unknown) session: its own source's host.
        assert_eq!(
            portal_link(&sources, unknown, Some(id)),
            (recordings.clone(), "session-recordings")
        );
    }
}

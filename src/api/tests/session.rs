//! `GET /api/sessions/{id}`: the session's item with its authorization record, read through its
//! `sessions` row and day row as the pipeline writes them, audited; 404 and 400 as problems.

use axum::http::StatusCode;
use serde_json::{Value, json};
use time::macros::datetime;

use super::get_json;
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::access::ACCESS_AUDIT_TABLE;
use crate::catalogue::days::put_authorization;
use crate::catalogue::session::write::upsert;
use crate::export::Outbox;
use crate::tables::get_str;
use crate::testkit::fakes;

const TUNNEL: &str = "5f0c2d7e-8b1a-4c3e-9d2f-000000000abc";

#[tokio::test]
async fn a_session_reads_with_its_authorization_record_and_every_read_is_audited() {
    let f = fakes();
    let t = f.state.ports.tables.as_ref();
    let mut s = SessionRecord::new(TUNNEL);
    s.user_name = "azureuser".into();
    s.user_email = "alice@contoso.com".into();
    s.target_vm = "vm-a".into();
    s.bastion_host = "bas-1".into();
    s.outcome = "connected".into();
    // A start just before midnight: the row is under the start's day, not today's.
    s.session_start = Some(datetime!(2025-03-13 23:50 UTC));
    let now = datetime!(2025-03-14 10:00 UTC);
    upsert(t, &Outbox::off(), &s, None, now, &|_, _| None)
        .await
        .expect("session");
    let (status, undecided) = get_json(&f, &format!("/api/sessions/{TUNNEL}")).await;
    assert_eq!(status, StatusCode::OK, "{undecided}");
    assert_eq!(undecided["sessionId"], TUNNEL);
    assert_eq!(undecided["userEmail"], "alice@contoso.com");
    assert_eq!(
        (
            &undecided["authorization"],
            &undecided["authorizationRecord"]
        ),
        (&Value::Null, &Value::Null),
        "not decided yet"
    );
    let record = json!({"verdict": "pim", "evidence": ["pim:req-alice"],
        "from": "2025-03-13T23:00:00.000Z", "until": "2025-03-14T07:00:00.000Z",
        "approver": "carol@contoso.com", "justification": "patching CHG0012345",
        "ticket": "CHG0012345", "reasons": []});
    put_authorization(
        t,
        &Outbox::off(),
        ("2025-03-13", TUNNEL),
        ("pim", &record.to_string()),
        now,
    )
    .await
    .expect("verdict");
    let (status, item) = get_json(&f, &format!("/api/sessions/{TUNNEL}")).await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!(item["authorization"], "pim");
    assert_eq!(item["authorizationRecord"], record);
    // The same fields as the list's item, under the same names.
    let (_, page) = get_json(&f, "/api/sessions?from=2025-03-13&to=2025-03-15").await;
    assert_eq!(
        page["items"][0], item,
        "the list's item and the detail agree"
    );

    let (status, missing) = get_json(&f, "/api/sessions/no-such-tunnel").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    let long = "t".repeat(300);
    let (status, _) = get_json(&f, &format!("/api/sessions/{long}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The static routes beside it keep answering.
    let (status, live) = get_json(&f, "/api/sessions/live").await;
    assert_ne!(status, StatusCode::NOT_FOUND, "{live}");

    let audit = f.tables.dump(ACCESS_AUDIT_TABLE);
    let reads: Vec<(&str, &str)> = audit
        .iter()
        .filter(|r| get_str(&r.entity, "Action") == Some("session.read"))
        .map(|r| {
            (
                get_str(&r.entity, "Target").unwrap_or_default(),
                get_str(&r.entity, "Outcome").unwrap_or_default(),
            )
        })
        .collect();
    let mut reads = reads;
    reads.sort_unstable();
    assert_eq!(
        reads,
        [
            (TUNNEL, "found"),
            (TUNNEL, "found"),
            ("no-such-tunnel", "not-found")
        ],
        "each read audited, the over-long id refused before any read"
    );
}

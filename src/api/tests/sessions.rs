//! `/api/sessions` over the in-memory fakes, with day rows written by the pipeline's own
//! `put_day` / `mark_recorded`: filters, outcome and recording columns, paging across days and
//! tokens, CSV escaping, authorization.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::Value;
use time::macros::datetime;

use crate::api::ApiSettings;
use crate::api::tests::{get, get_text};
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::days::{Before, DayRow, Derived, put as put_day, put_recorded};
use crate::testkit::{Fakes, fakes};

const VM_ID: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-a";

fn session(tunnel: &str, start: time::OffsetDateTime, user: &str, outcome: &str) -> SessionRecord {
    let mut s = SessionRecord::new(tunnel);
    s.user_name = user.into();
    s.user_email = format!("{user}@contoso.com");
    s.client_ip = "203.0.113.9".into();
    s.protocol = "ssh".into();
    s.target_vm = "vm-a".into();
    s.target_resource_id = VM_ID.into();
    s.bastion_host = "bas-1".into();
    s.outcome = outcome.into();
    if outcome == "connected" {
        s.session_start = Some(start);
        s.session_end = Some(start + time::Duration::minutes(5));
    } else {
        s.first_record_time = Some(start);
    }
    s
}

async fn put(f: &Fakes, s: &SessionRecord) {
    put_day(
        f.state.ports.tables.as_ref(),
        &crate::export::Outbox::off(),
        s,
        datetime!(2025-03-14 10:00 UTC),
        Before::Day(None),
        None,
        None,
    )
    .await
    .expect("window");
}

/// Three sessions on 03-13 and 03-14: recorded, failed login, unrecorded (other user, rdp).
async fn seed(f: &Fakes) {
    let rec = session("t1", datetime!(2025-03-13 23:50 UTC), "alice", "connected");
    put(f, &rec).await;
    let stored = f
        .state
        .ports
        .tables
        .get("sessionwindows", "2025-03-13", "t1")
        .await
        .expect("get")
        .expect("row");
    put_recorded(
        f.state.ports.tables.as_ref(),
        &crate::export::Outbox::off(),
        vec![(
            stored,
            Derived {
                ids: vec!["2025-03-13~cmVj".to_owned()],
                by: "exact",
                replaced: false,
            },
            false,
        )],
        datetime!(2025-03-14 10:00 UTC),
    )
    .await
    .expect("mark");
    put(
        f,
        &session(
            "t2",
            datetime!(2025-03-14 08:00 UTC),
            "alice",
            "login-failed",
        ),
    )
    .await;
    let mut other = session(
        "t3",
        datetime!(2025-03-14 07:00 UTC),
        "=bob,\"x\"",
        "connected",
    );
    other.protocol = "rdp".into();
    other.client_ip = "198.51.100.7".into();
    put(f, &other).await;
}

async fn items(f: &Fakes, query: &str) -> (StatusCode, Value) {
    let (s, b) = get_text(f, &format!("/api/sessions?{query}")).await;
    (s, serde_json::from_str(&b).unwrap_or(Value::Null))
}

fn field(v: &Value, name: &str) -> Vec<String> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i[name].as_str().unwrap_or("null").to_owned())
        .collect()
}

#[tokio::test]
async fn lists_recorded_unrecorded_and_failed_sessions_sorted_by_start() {
    let f = fakes();
    seed(&f).await;
    let (s, v) = items(&f, "from=2025-03-13&to=2025-03-14").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(field(&v, "sessionId"), ["t1", "t3", "t2"]);
    assert_eq!(field(&v, "outcome"), ["success", "success", "failed-login"]);
    // What each counts as, in every figure: a failed login is never unrecorded.
    assert_eq!(
        field(&v, "kind"),
        ["recorded", "unrecorded", "failed-login"]
    );
    assert_eq!(
        field(&v, "recordingId"),
        ["2025-03-13~cmVj", "null", "null"]
    );
    let first = &v["items"][0];
    assert_eq!(first["recorded"], true);
    assert_eq!(first["durationMs"], 300_000);
    assert_eq!(first["targetResourceId"], VM_ID);
    assert_eq!(first["clientIp"], "203.0.113.9");
    assert_eq!(first["start"], "2025-03-13T23:50:00.000Z");
    assert_eq!(first["end"], "2025-03-13T23:55:00.000Z");
    assert_eq!(v["items"][2]["end"], Value::Null);
    assert_eq!(v["items"][2]["durationMs"], Value::Null);
    assert_eq!(v["continuation"], Value::Null);
}

#[tokio::test]
async fn filters_apply_case_insensitively() {
    let f = fakes();
    seed(&f).await;
    let base = "from=2025-03-13&to=2025-03-14";
    for (filter, want) in [
        ("user=ALICE", &["t1", "t2"][..]),
        ("user=alice%40contoso.com", &["t1", "t2"]),
        ("ip=198.51.100.7", &["t3"]),
        ("vm=VM-A", &["t1", "t3", "t2"]),
        (
            "vm=%2Fsubscriptions%2Fs%2FresourceGroups%2Frg%2Fproviders%2FMicrosoft.Compute%2FvirtualMachines%2Fvm-a",
            &["t1", "t3", "t2"],
        ),
        ("vm=vm-b", &[]),
        ("protocol=RDP", &["t3"]),
        ("status=failed-login", &["t2"]),
        ("status=success", &["t1", "t3"]),
        ("status=recorded", &["t1"]),
        // A failed login is neither recorded nor unrecorded.
        ("status=unrecorded", &["t3"]),
        ("status=success&user=alice", &["t1"]),
    ] {
        let (s, v) = items(&f, &format!("{base}&{filter}")).await;
        assert_eq!(s, StatusCode::OK, "{filter}: {v}");
        assert_eq!(field(&v, "sessionId"), want, "{filter}");
    }
    // The range applies to the session start: 03-14 only.
    let (_, v) = items(&f, "from=2025-03-14&to=2025-03-14").await;
    assert_eq!(field(&v, "sessionId"), ["t3", "t2"]);
}

#[tokio::test]
async fn bad_parameters_are_400() {
    let f = fakes();
    for (q, param) in [
        ("to=2025-03-14", "from"),
        ("from=2025-01-01&to=2025-03-14", "to"),
        ("from=2025-03-13&to=2025-03-14&status=recording", "status"),
        ("from=2025-03-13&to=2025-03-14&class=ops", "class"),
        (
            "from=2025-03-13&to=2025-03-14&confidence=exact",
            "confidence",
        ),
        (
            "from=2025-03-13&to=2025-03-14&continuation=xyz",
            "continuation",
        ),
        ("from=2025-03-13&to=2025-03-14&limit=1001", "limit"),
    ] {
        let (s, v) = items(&f, q).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert!(
            v["detail"].as_str().expect("detail").starts_with(param),
            "{q}: {v}"
        );
    }
}

#[tokio::test]
async fn pages_across_days_and_tokens_are_bound_to_the_route_and_query() {
    let f = fakes();
    seed(&f).await;
    let base = "/api/sessions?from=2025-03-13&to=2025-03-14&limit=1";
    let (mut seen, mut next) = (Vec::new(), None::<String>);
    for _ in 0..5 {
        let uri = next
            .as_ref()
            .map_or(base.to_owned(), |t| format!("{base}&continuation={t}"));
        let (s, _, b) = get(&f, ApiSettings::key_only(), &uri, &[]).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let v: Value = serde_json::from_str(&b).expect("json");
        seen.extend(field(&v, "sessionId"));
        match v["continuation"].as_str() {
            Some(t) => next = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["t1", "t3", "t2"]);
    // A sessions token is refused by /api/recordings and by a query with other filters.
    let (_, _, b) = get(&f, ApiSettings::key_only(), base, &[]).await;
    let t = serde_json::from_str::<Value>(&b).expect("json")["continuation"]
        .as_str()
        .expect("token")
        .to_owned();
    for uri in [
        format!("/api/recordings?from=2025-03-13&to=2025-03-14&limit=1&continuation={t}"),
        format!("{base}&user=alice&continuation={t}"),
    ] {
        let (s, _, _) = get(&f, ApiSettings::key_only(), &uri, &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}");
    }
}

#[tokio::test]
async fn csv_defuses_hostile_values_and_carries_the_token() {
    let f = fakes();
    seed(&f).await;
    let uri = "/api/sessions?from=2025-03-13&to=2025-03-14&limit=2";
    let (s, ct, body) = get(&f, ApiSettings::key_only(), uri, &[("accept", "text/csv")]).await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::OK, "text/csv; charset=utf-8")
    );
    let lines: Vec<&str> = body.split("\r\n").collect();
    assert!(
        lines[0].starts_with("sessionId,userName,userEmail,clientIp"),
        "{body}"
    );
    assert_eq!(lines.len(), 4, "header, two rows, trailing empty: {body}");
    assert!(
        lines[2].starts_with("t3,\"'=bob,\"\"x\"\"\",\"'=bob,\"\"x\"\"@contoso.com\""),
        "{body}"
    );
    let (_, csv) = get_text(&f, &format!("{uri}&format=csv")).await;
    assert_eq!(csv, body);
}

#[test]
fn parse_validates_status_values() {
    let params = |s: &str| -> HashMap<String, String> {
        [("from", "2025-03-13"), ("to", "2025-03-14"), ("status", s)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    };
    let parse = |p| crate::api::listing::parse::<DayRow>(&p, None, 31);
    for ok in crate::catalogue::query::rows::STATUSES {
        assert!(parse(params(ok)).is_ok(), "{ok}");
    }
    assert!(parse(params("FAILED-LOGIN")).is_ok());
    for bad in ["connected", "failed", "deleted"] {
        assert!(parse(params(bad)).is_err(), "{bad}");
    }
}

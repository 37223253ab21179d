//! Who allowed each session, on the page (`tests/ui/authorization.mjs`, `TEST_UI=1`): the UI data
//! seeded through the real pipeline, then each successful session's verdict and record put on its
//! day row through the catalogue's one writer of them (`put_authorization`, which the estate
//! check's authorization pass calls; that pass is tested against its sources in
//! `estate::authorization`). The browser checks the sessions table's Authorization column, the
//! verdict filter (each against what `GET /api/sessions?authorization=` lists), a record opened
//! by keyboard with its VM sign-in's MFA and its VM account shared by two persons (kept in
//! `authzshared` through its one writer), hostile record values and names as text, `none` marked
//! by more than colour, widths and axe-core. Every detail read the view made is in the access audit as `session.read`.

use bastion_recordings::authorization::shared_store::{Account, Accounts, save};
use bastion_recordings::catalogue::days::{DayRow, get_row, put_authorization};
use bastion_recordings::dates::format_date;
use bastion_recordings::export::Outbox;
use serde_json::{Map, Value, json};

use super::seed::{HOSTILE_USER, Kind, SEEDS};
use super::{browser_check, local, seeded};

/// A justification that would run script if it were ever parsed as markup.
const HOSTILE_REASON: &str = "<b>patching</b> <img src=x onerror=\"window.__pwned=1\"> CHG0012345";

/// The verdict of each seed by its number (`None`: not decided; failed logins never are).
fn verdict(n: u8) -> Option<&'static str> {
    match n {
        1 => Some("pim"),
        2 => Some("none"),
        3 => Some("unknown"),
        5 => Some("jit"),
        6 => Some("pim-group"),
        7 => Some("standing"),
        _ => None,
    }
}

fn record(verdict: &str) -> Value {
    match verdict {
        "pim" => json!({"verdict": "pim", "evidence": ["pim:req-alice", "audit:act-1"],
            "from": "2026-01-01T00:00:00.000Z", "until": "2099-01-01T00:00:00.000Z",
            "approver": "carol@contoso.com", "justification": HOSTILE_REASON, "ticket": "CHG0012345", "reasons": [],
            "mfa": "not-satisfied", "mfaSignIn": "signin-7f3a"}),
        "unknown" => {
            json!({"verdict": "unknown", "evidence": [], "from": null, "until": null, "approver": "",
            "justification": "", "ticket": "",
            "reasons": ["roleAssignmentScheduleInstances at /subscriptions/S: 403 (Reader not granted)", "workspace not read"]})
        }
        v => json!({"verdict": v, "evidence": [format!("{v}:1")], "from": null, "until": null,
            "approver": "", "justification": "", "ticket": "", "reasons": []}),
    }
}

#[tokio::test]
async fn authorization_column_filter_and_record_in_headless_chromium() {
    let Some(s) = seeded(&[]).await else { return };
    for seed in SEEDS {
        let Some(v) = verdict(seed.0) else { continue };
        let start = s.now - time::Duration::minutes(seed.4);
        put_authorization(
            &s.tables,
            &Outbox::off(),
            (&format_date(start.date()), &seed.tunnel()),
            (v, &record(v).to_string()),
            s.now,
        )
        .await
        .expect("verdict");
    }
    // Session 1's VM account, used by alice and a person with a hostile name: shared, as the
    // authorization pass keeps it (`authzshared`, through its one writer), its Entra login absent.
    let first = &SEEDS[0];
    let start = s.now - time::Duration::minutes(first.4);
    let day = format_date(start.date());
    let row = get_row(&s.tables, &day, &first.tunnel())
        .await
        .expect("read");
    let row = row
        .and_then(|r| DayRow::from_entity(&r.entity))
        .expect("session 1's day row");
    let mut accounts = Accounts::new();
    let people = [("alice@contoso.com", 600), (HOSTILE_USER, 30)];
    let account = Account {
        vm_name: row.vm.clone(),
        people: (people.iter())
            .map(|(p, ago)| {
                let at = s.now - time::Duration::minutes(*ago);
                ((*p).to_owned(), ((*p).to_owned(), at, at))
            })
            .collect(),
        entra: "absent".into(),
        entra_at: Some(s.now),
    };
    let vm = row.target_resource_id.to_ascii_lowercase();
    accounts.insert((vm, row.user_name.to_lowercase()), account);
    let from = s.now - time::Duration::days(30);
    save(&s.tables, &Accounts::new(), &mut accounts, from)
        .await
        .expect("kept");
    let failed = |n: u8| SEEDS.iter().any(|x| x.0 == n && x.6 == Kind::Failed);
    let shown = |n: u8| match verdict(n) {
        Some(v) => v,
        None if failed(n) => "",
        None => "undecided",
    };
    let verdicts: Map<String, Value> = SEEDS
        .iter()
        .map(|x| (x.tunnel(), json!(shown(x.0))))
        .collect();
    // Each filter's sessions as the API lists them: the page must show exactly these.
    let mut filters = Map::new();
    for v in ["none", "pim", "unknown", "undecided"] {
        let uri = format!(
            "/api/sessions?from={}:00Z&to={}:00Z&authorization={v}",
            local(s.now - time::Duration::hours(4)),
            local(s.now + time::Duration::hours(1))
        );
        let (status, page) = s.handler.get_json(&uri).await;
        assert_eq!(status, 200, "{page}");
        let ids: Vec<Value> = page["items"]
            .as_array()
            .map(|i| i.iter().map(|x| x["sessionId"].clone()).collect())
            .unwrap_or_default();
        let want: Vec<String> = SEEDS
            .iter()
            .filter(|x| shown(x.0) == v || (v == "undecided" && shown(x.0).is_empty()))
            .map(|x| x.tunnel())
            .collect();
        let mut got: Vec<&str> = ids.iter().filter_map(Value::as_str).collect();
        got.sort_unstable();
        assert_eq!(got, want, "the API's {v} sessions");
        filters.insert(v.to_owned(), Value::Array(ids));
    }
    let tunnel = |n: u8| SEEDS.iter().find(|x| x.0 == n).map(|x| x.tunnel());
    assert_eq!(
        SEEDS[1].1, HOSTILE_USER,
        "the none session is the hostile user's"
    );
    let pim = record("pim");
    let unknown = record("unknown");
    let expect = json!({
        "key": "test-function-key",
        "from": local(s.now - time::Duration::hours(4)), "to": local(s.now + time::Duration::hours(1)),
        "verdicts": verdicts, "filters": filters,
        "pim": {"session": tunnel(1), "approver": pim["approver"], "ticket": pim["ticket"],
            "justification": HOSTILE_REASON, "evidence": pim["evidence"],
            "mfa": "not satisfied (sign-in signin-7f3a)",
            "shared": [row.user_name.to_lowercase(), row.vm, "used by 2 persons", "alice@contoso.com", HOSTILE_USER],
            "entra": "absent"},
        "unknown": {"session": tunnel(3), "reasons": unknown["reasons"]},
    });
    browser_check(
        &s.handler,
        "authorization",
        &expect,
        "authorization ui: ok",
        240,
    )
    .await;
    let audit = s.audited("session.read").await;
    let reads: Vec<&str> = audit.iter().filter_map(|e| e["Target"].as_str()).collect();
    for n in [1, 3] {
        let id = tunnel(n).expect("seeded");
        assert!(
            reads.contains(&id.as_str()),
            "the view's read of {id} is audited: {reads:?}"
        );
    }
}

//! Which sessions a pass decides: the recent open ones, and those new evidence could better, for
//! its person, within its window; a session already `pim` or of another person is not read again.

use std::collections::BTreeSet;

use time::Duration;
use time::macros::datetime;

use super::evidence::{Evidence, Kind, Source};
use super::select::{Chosen, covered_by, fresh, scan};
use crate::catalogue::days::{DAYS_TABLE, DayRow, Span};
use crate::catalogue::session::SessionRecord;
use crate::catalogue::session::outcome::CONNECTED;
use crate::testkit::tables::memory::InMemoryTables;

fn row(tunnel: &str, hour: i64, email: &str, verdict: &str) -> DayRow {
    let mut s = SessionRecord::new(tunnel);
    s.session_start = Some(datetime!(2026-11-20 00:00 UTC) + Duration::hours(hour));
    s.target_resource_id =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm".into();
    s.target_vm = "vm".into();
    s.user_name = "root".into();
    s.user_email = email.into();
    s.outcome = CONNECTED.into();
    let mut r = DayRow::of(&s).expect("row");
    r.authorization = verdict.into();
    r
}

fn window(id: &str, who: &str, (from, until): (i64, i64)) -> Evidence {
    let t = datetime!(2026-11-20 00:00 UTC);
    Evidence {
        id: id.into(),
        source: Some(Source::AuditLogs),
        kind: Some(Kind::Pim),
        names: vec![who.into()],
        scope: "/subscriptions/s1".into(),
        start: Some(t + Duration::hours(from)),
        end: Some(t + Duration::hours(until)),
        ..Evidence::default()
    }
}

async fn rows(all: &[DayRow]) -> InMemoryTables {
    let tables = InMemoryTables::new();
    for r in all {
        let row = r.to_entity();
        let mode = crate::tables::WriteMode::Upsert;
        crate::tables::ops::write_creating_table(&tables, DAYS_TABLE, &row, mode)
            .await
            .expect("written");
    }
    tables
}

fn chosen(c: &Chosen) -> Vec<&str> {
    c.rows.keys().map(String::as_str).collect()
}

#[tokio::test]
async fn late_evidence_chooses_only_its_persons_sessions_it_could_better() {
    let tables = rows(&[
        row("bob-none", 10, "bob@contoso.com", "none"),
        row("bob-standing", 11, "Bob@Contoso.com", "standing"),
        row("bob-pim", 11, "bob@contoso.com", "pim"),
        row("bob-before", 5, "bob@contoso.com", "none"),
        row("carol-none", 10, "carol@contoso.com", "none"),
    ])
    .await;
    let span = Span {
        from: datetime!(2026-11-14 00:00 UTC),
        until: datetime!(2026-11-21 00:00 UTC),
    };
    let late = window("w-bob", "bob@contoso.com", (9, 12));
    let mut c = Chosen::default();
    covered_by(&tables, &BTreeSet::new(), &[&late], span, &mut c)
        .await
        .expect("read");
    assert_eq!(chosen(&c), ["bob-none", "bob-standing"]);
    assert_eq!(
        c.read, 3,
        "the window's rows below pim, not bob-pim or bob-before"
    );
    // Nothing new: nothing read.
    let mut c = Chosen::default();
    covered_by(&tables, &BTreeSet::new(), &[], span, &mut c)
        .await
        .expect("read");
    assert_eq!((c.read, c.rows.len()), (0, 0));
}

#[test]
fn evidence_is_fresh_when_new_or_changed() {
    let kept = [
        window("a", "bob@contoso.com", (1, 2)),
        window("b", "bob@contoso.com", (1, 2)),
    ];
    let seen = [
        window("a", "bob@contoso.com", (1, 2)),
        window("b", "bob@contoso.com", (1, 3)),
        window("c", "bob@contoso.com", (1, 2)),
    ];
    let ids: Vec<&str> = fresh(&seen, &kept).iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["b", "c"]);
}

#[tokio::test]
async fn a_scan_chooses_the_open_sessions_since_its_start_and_hands_on_every_row() {
    let tables = rows(&[
        row("old-undecided", 1, "a@contoso.com", ""),
        row("new-undecided", 30, "a@contoso.com", ""),
        row("new-none", 31, "a@contoso.com", "none"),
        row("new-pim", 32, "a@contoso.com", "pim"),
    ])
    .await;
    let span = Span {
        from: datetime!(2026-11-20 00:00 UTC),
        until: datetime!(2026-11-22 00:00 UTC),
    };
    let (mut c, mut seen) = (Chosen::default(), 0);
    let from = datetime!(2026-11-21 00:00 UTC);
    let open = super::select::OPEN;
    scan(
        &tables,
        &BTreeSet::new(),
        (span, from),
        &open,
        &mut c,
        |_| seen += 1,
    )
    .await
    .expect("read");
    assert_eq!(chosen(&c), ["new-none", "new-undecided"]);
    assert_eq!((seen, c.read), (4, 4));
}

//! The watched VMs are read by one query over the lookback's day partitions, not one per day:
//! the same VMs as the per-day reads, at one call a tick in memory (91 at one per day).

use std::sync::Arc;

use time::macros::datetime;

use super::watched;
use crate::catalogue::days::{Span, query};
use crate::catalogue::session::SessionRecord;
use crate::estate::settings::EstateSettings;
use crate::export::Outbox;
use crate::tables::filter::Op;
use crate::tables::{Filter, TableStore};
use crate::testkit::tables::intercept::CountingTables;
use crate::testkit::tables::memory::InMemoryTables;

const HOST: &str =
    "/subscriptions/s0/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/bas1";

fn vm(n: usize) -> String {
    format!(
        "/subscriptions/s1/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm{n}"
    )
}

#[tokio::test]
async fn the_lookback_is_read_in_one_query_and_finds_the_same_vms_as_a_query_per_day() {
    let tables = Arc::new(CountingTables::new(InMemoryTables::new()));
    let now = datetime!(2025-03-14 10:00 UTC);
    // Sessions of the watched host on days across the lookback, one before it, one of another host.
    for (i, (days, host)) in [
        (0, "bas1"),
        (1, "bas1"),
        (45, "BAS1"),
        (89, "bas1"),
        (91, "bas1"),
        (2, "bas2"),
    ]
    .into_iter()
    .enumerate()
    {
        let start = now - time::Duration::days(days) - time::Duration::hours(1);
        let mut s = SessionRecord::new(&format!("t{i}"));
        s.session_start = Some(start);
        s.outcome = "connected".into();
        s.bastion_host = host.into();
        s.target_resource_id = vm(i);
        crate::catalogue::days::insert_new(tables.as_ref(), &Outbox::off(), &s, start, None)
            .await
            .expect("day row");
    }
    let settings = EstateSettings::of_hosts(vec![HOST.to_owned()]);
    tables.reset();
    let w = watched(tables.as_ref() as &dyn TableStore, &settings, now)
        .await
        .expect("watched");
    assert_eq!(tables.count(None, Some("query")), 1, "one query a tick");
    let want: std::collections::BTreeSet<String> = [0, 1, 2, 3]
        .iter()
        .map(|i| vm(*i).to_ascii_lowercase())
        .collect();
    assert_eq!(w.vms, want);
    // The per-day reads find the same rows, at a query per day.
    tables.reset();
    let span = Span {
        from: now - settings.bypass_lookback,
        until: now,
    };
    let mut per_day = Vec::new();
    for day in crate::dates::days(span.from.date(), span.until.date()) {
        let within = Filter::And(vec![
            Filter::partition(&crate::dates::format_date(day)),
            Filter::str("Start", Op::Ge, crate::dates::format_utc_millis(span.from)),
            Filter::str("Start", Op::Le, crate::dates::format_utc_millis(span.until)),
        ]);
        let rows = query(tables.as_ref() as &dyn TableStore, &within, 1000);
        per_day.extend(rows.await.expect("rows").into_iter().map(|(w, _)| w));
    }
    assert_eq!(tables.count(None, Some("query")), 91);
    let scanned =
        crate::catalogue::days::scan(tables.as_ref() as &dyn TableStore, span, Vec::new())
            .await
            .expect("rows");
    let ids = |rows: &[crate::catalogue::days::DayRow]| {
        let mut t: Vec<String> = rows.iter().map(|r| r.tunnel_id.clone()).collect();
        t.sort();
        t
    };
    assert_eq!(ids(&scanned), ids(&per_day));
}

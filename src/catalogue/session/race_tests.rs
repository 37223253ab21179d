//! One session's connect and end, read from two hour blobs and written at once by two writers:
//! whichever way their table calls interleave, the stored session and its day row both end with
//! the end. Each table call first yields a seeded, varying number of times, so the two writers'
//! reads and conditional writes interleave differently on every seed (over the in-memory tables).

use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;
use time::macros::datetime;

use super::SessionRecord;
use crate::azure::AzureError;
use crate::catalogue::days;
use crate::export::Outbox;
use crate::testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use crate::testkit::tables::memory::InMemoryTables;

const TUNNEL: &str = "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";
const START: OffsetDateTime = datetime!(2025-03-14 09:40 UTC);
const END: OffsetDateTime = datetime!(2025-03-14 10:20 UTC);

/// Yields before every call as many times as a seeded generator says (0 to 3).
struct Shuffle(Mutex<u64>);

#[async_trait]
impl BeforeTableCall for Shuffle {
    async fn before(&self, _call: TableCall<'_>) -> Result<(), AzureError> {
        let turns = {
            let mut s = self
                .0
                .lock()
                .map_err(|_| AzureError::Transient("lock".into()))?;
            *s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (*s >> 33) % 4
        };
        for _ in 0..turns {
            tokio::task::yield_now().await;
        }
        Ok(())
    }
}

/// What the hour holding the connect record folds to.
fn connect() -> SessionRecord {
    let mut s = SessionRecord::new(TUNNEL);
    s.bastion_host = "bas-hub-weu".into();
    s.target_vm = "vm-app-01".into();
    s.user_name = "azureuser".into();
    s.protocol = "ssh".into();
    s.session_start = Some(START);
    s.outcome = super::outcome::CONNECTED.into();
    s.first_record_time = Some(START);
    s.last_record_time = Some(START);
    s.operations = vec!["Microsoft.Network/BastionHost/connect".into()];
    s
}

/// What the next hour, holding the disconnect record, folds to.
fn disconnect() -> SessionRecord {
    let mut s = connect();
    s.session_end = Some(END);
    s.first_record_time = Some(END);
    s.last_record_time = Some(END);
    s.operations = vec!["Microsoft.Network/BastionHost/disconnect".into()];
    s
}

#[tokio::test]
async fn a_session_written_from_two_hours_at_once_keeps_its_end_in_every_interleaving() {
    let mut lost = Vec::new();
    for seed in 0..200u64 {
        let tables = Intercepted::with(InMemoryTables::new(), Shuffle(Mutex::new(seed)));
        let outbox = Outbox::off();
        let (a, b) = (connect(), disconnect());
        let none = |_: Option<&SessionRecord>, _: &SessionRecord| None;
        let wa = super::write::upsert(&tables, &outbox, &a, None, END, &none);
        let wb = super::write::upsert(&tables, &outbox, &b, None, END, &none);
        let (x, y) = if seed % 2 == 0 {
            tokio::join!(wa, wb)
        } else {
            let (y, x) = tokio::join!(wb, wa);
            (x, y)
        };
        x.expect("connect written");
        y.expect("disconnect written");
        let session = super::get(&tables, TUNNEL)
            .await
            .expect("read")
            .expect("row");
        let row = days::get_row(&tables, "2025-03-14", TUNNEL)
            .await
            .expect("read")
            .and_then(|r| days::DayRow::from_entity(&r.entity))
            .expect("day row");
        assert_eq!(session.session_end, Some(END), "seed {seed}: session row");
        if row.end != Some(END) || row.start != START {
            lost.push(seed);
        }
    }
    assert!(
        lost.is_empty(),
        "day row lost its end or start on seeds {lost:?}"
    );
}

/// A disconnect record that does not carry the session's start (the start then reads as the
/// record's time, later than the real one): what its hour folds to.
fn disconnect_without_start(start: OffsetDateTime, end: OffsetDateTime) -> SessionRecord {
    let mut s = connect_at(start);
    s.session_start = None;
    s.session_end = Some(end);
    s.first_record_time = Some(end);
    s.last_record_time = Some(end);
    s.operations = vec!["Microsoft.Network/BastionHost/disconnect".into()];
    s
}

/// [`connect`] at `start`.
fn connect_at(start: OffsetDateTime) -> SessionRecord {
    let mut s = connect();
    s.session_start = Some(start);
    s.first_record_time = Some(start);
    s.last_record_time = Some(start);
    s
}

/// Writes `views` of the session at once under 200 seeded interleavings (the writers in a
/// rotating order); the seeds after which the session's rows are not one day row under the start's
/// day with the right start and end, beside a `sessions` row with both.
async fn seeds_losing_the_start(
    views: &[SessionRecord],
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Vec<u64> {
    let days = [start.date(), end.date()].map(crate::dates::format_date);
    let mut lost = Vec::new();
    for seed in 0..200u64 {
        let tables = Intercepted::with(InMemoryTables::new(), Shuffle(Mutex::new(seed)));
        let outbox = Outbox::off();
        let none = |_: Option<&SessionRecord>, _: &SessionRecord| None;
        let affected: &(
             dyn Fn(Option<&SessionRecord>, &SessionRecord) -> Option<days::Span> + Sync
         ) = &none;
        let (t, o, n) = (&tables, &outbox, views.len());
        let writers = (0..n).map(move |i| {
            let view = &views[(i + seed as usize) % n];
            super::write::upsert(t, o, view, None, end, affected)
        });
        for written in futures::future::join_all(writers).await {
            written.expect("written");
        }
        let session = super::get(&tables, TUNNEL)
            .await
            .expect("read")
            .expect("row");
        let mut rows = Vec::new();
        for day in &days {
            let row = days::get_row(&tables, day, TUNNEL).await.expect("read");
            rows.extend(row.and_then(|r| days::DayRow::from_entity(&r.entity)));
            if days[0] == days[1] {
                break;
            }
        }
        let right = |r: &days::DayRow| r.start == start && r.end == Some(end);
        let one_right_row = rows.len() == 1 && rows.iter().all(right) && rows[0].day() == days[0];
        if session.session_start != Some(start)
            || session.session_end != Some(end)
            || !one_right_row
        {
            lost.push(seed);
        }
    }
    lost
}

#[tokio::test]
async fn a_session_written_from_two_hours_at_once_keeps_its_start_in_every_interleaving() {
    // The disconnect hour's view alone says a later start (its record's time); written at once
    // with the connect hour's, and with either hour read again by a second instance, within one
    // day and across midnight.
    for (start, end) in [
        (START, END),
        (
            datetime!(2025-03-14 23:40 UTC),
            datetime!(2025-03-15 00:20 UTC),
        ),
    ] {
        let (a, b) = (connect_at(start), disconnect_without_start(start, end));
        for views in [
            vec![a.clone(), b.clone()],
            vec![a.clone(), b.clone(), b.clone()],
            vec![a.clone(), a.clone(), b.clone()],
        ] {
            let lost = seeds_losing_the_start(&views, start, end).await;
            assert!(
                lost.is_empty(),
                "{} writers from {start}: a later start or a stray day row on seeds {lost:?}",
                views.len()
            );
        }
    }
}

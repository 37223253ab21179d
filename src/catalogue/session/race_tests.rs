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
use crate::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use crate::tables::memory::InMemoryTables;

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

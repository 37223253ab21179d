//! The cursor's properties over simulated workspaces: rows become visible late (within lag +
//! overlap), answers tie-break in any order, pages are small and the time budget cuts anywhere.
//! Every row is stored exactly once; none is lost.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

/// A row: ingestion tick, extra delay before a query can see it, digest.
#[derive(Debug, Clone)]
struct Row {
    t: Tick,
    delay: Tick,
    digest: u64,
}

const LAG: Tick = 20;
const OVERLAP: Tick = 30;
const TICK: Tick = 60;

fn rows() -> impl Strategy<Value = Vec<Row>> {
    proptest::collection::vec((0i64..600, 0i64..(LAG + OVERLAP)), 0..120).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (t, delay))| Row {
                t,
                delay,
                digest: i as u64,
            })
            .collect()
    })
}

/// Runs ticks until well after the last row; returns how often each row was stored.
fn simulate(rows: &[Row], limit: usize, cuts: &[usize], shuffle: u64) -> BTreeMap<u64, usize> {
    let mut stored: BTreeMap<u64, usize> = BTreeMap::new();
    let mut c = CursorState::default();
    let mut cuts = cuts.iter().cycle();
    let mut seed = shuffle;
    // Enough ticks for the slowest case: one row per page, cut after one row.
    for k in 0..(rows.len() as i64 + 20) {
        let now = k * TICK;
        let hi = now - LAG;
        let mut after: Option<PageResult> = None;
        let mut page = limit;
        // A time budget: pages per tick (more than the overlap can hold of one-row pages).
        for _ in 0..40 {
            let Some(w) = next_slice(&c, hi, OVERLAP, after.as_ref()) else {
                break;
            };
            // Visible rows in the slice, sorted by tick with ties in a varying order.
            let mut answer: Vec<&Row> = rows
                .iter()
                .filter(|r| r.t + r.delay <= now && r.t >= w.lo && r.t < w.hi)
                .collect();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            answer.sort_by_key(|r| (r.t, r.digest.wrapping_mul(seed | 1)));
            answer.truncate(page + 1);
            let budget = *cuts.next().unwrap_or(&usize::MAX);
            let (mut handled, mut next, mut written) = (Vec::new(), None, 0);
            for (i, r) in answer.iter().enumerate() {
                if i == page {
                    next = Some(r.t);
                    break;
                }
                let id = (r.t, r.digest);
                if !c.seen.contains(&id) {
                    if written == budget {
                        next = Some(r.t);
                        break;
                    }
                    written += 1;
                    *stored.entry(r.digest).or_default() += 1;
                }
                handled.push(id);
            }
            let cut = next.is_some() && answer.len() <= page;
            let result = PageResult { handled, next };
            c = advance(&c, w, &result, OVERLAP);
            if stalled(w, next_slice(&c, hi, OVERLAP, Some(&result))) {
                page *= 2;
            }
            after = Some(result);
            if cut {
                break;
            }
        }
    }
    stored
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_row_is_stored_exactly_once(
        rows in rows(),
        limit in 1usize..12,
        cuts in proptest::collection::vec(1usize..20, 1..5),
        shuffle in any::<u64>(),
    ) {
        let stored = simulate(&rows, limit, &cuts, shuffle);
        for r in &rows {
            prop_assert_eq!(stored.get(&r.digest).copied(), Some(1), "row {:?}", r);
        }
    }

    #[test]
    fn seen_stays_within_the_overlap(rows in rows()) {
        let mut c = CursorState::default();
        let w = Slice { lo: 0, hi: 700 };
        let handled: Vec<RowId> = rows.iter().map(|r| (r.t, r.digest)).collect();
        c = advance(&c, w, &PageResult { handled, next: None }, OVERLAP);
        prop_assert_eq!(c.through, 700);
        prop_assert!(c.seen.iter().all(|(t, _)| *t >= 700 - OVERLAP));
    }
}

#[test]
fn the_cursor_never_moves_backwards() {
    let c = CursorState {
        through: 100,
        seen: BTreeSet::new(),
    };
    let w = Slice { lo: 70, hi: 200 };
    let page = PageResult {
        handled: vec![],
        next: Some(80),
    };
    assert_eq!(advance(&c, w, &page, OVERLAP).through, 100);
}

#[test]
fn a_tick_first_query_starts_an_overlap_early_and_later_ones_where_the_last_stopped() {
    let c = CursorState {
        through: 100,
        seen: BTreeSet::new(),
    };
    assert_eq!(
        next_slice(&c, 200, 30, None),
        Some(Slice { lo: 70, hi: 200 })
    );
    let page = |next| PageResult {
        handled: vec![],
        next,
    };
    assert_eq!(
        next_slice(&c, 200, 30, Some(&page(Some(150)))),
        Some(Slice { lo: 100, hi: 200 })
    );
    assert_eq!(
        next_slice(&c, 200, 30, Some(&page(Some(80)))),
        Some(Slice { lo: 80, hi: 200 }),
        "a page stopped inside the overlap resumes there"
    );
    assert_eq!(next_slice(&c, 100, 30, None), None);
}

#[test]
fn ticks_round_trip_at_100ns() {
    let t = time::macros::datetime!(2025-03-14 09:03:54.1234567 UTC);
    assert_eq!(time_of(tick_of(t)), t);
}

//! Session-side join tests over the in-memory fakes: what one tick writes (each affected recording
//! at most once, nothing when unchanged), old windows, the bound on storage calls per audit record,
//! and progress on a store too slow for the time budget.

use std::sync::Arc;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::audit_logs::repo::windows::pending_rows;
use crate::clock::FixedClock;
use crate::tables::get_str;
use crate::testkit::audit::{Kit, NOW, Tally, kit, line};
use crate::testkit::tail::{connected, counted, run};

fn end(tunnel: &str, start: &str, at: &str) -> String {
    let extra = format!(r#","sessionStartTime":"{start}","sessionEndTime":"{at}""#);
    line(tunnel, at, "Session Ended", "VM1", "u", &extra)
}

async fn pending(k: &Kit) -> usize {
    pending_rows(&k.state.ports.tables, "2025-03-01", 1000)
        .await
        .expect("pending")
        .len()
}

/// Writes a changed join makes: catalogue rows and their VM/user index rows.
fn rewrites(t: &Tally) -> u64 {
    ["recordings", "recordingindex"]
        .iter()
        .map(|table| t.count(Some(table), Some("write")) + t.count(Some(table), Some("delete")))
        .sum()
}

#[tokio::test]
async fn each_affected_recording_is_joined_once_per_tick_and_unchanged_results_write_nothing() {
    let (k, tally) = counted().await;
    let mut keys = Vec::new();
    for (name, at) in [
        ("rec-a", datetime!(2025-03-14 09:20 UTC)),
        ("rec-b", datetime!(2025-03-14 09:25 UTC)),
        ("rec-c", datetime!(2025-03-14 09:30 UTC)),
    ] {
        keys.push(k.recording(name, at, &[]).await);
    }
    let tunnels: Vec<String> = (1..=5).map(|i| format!("s{i}")).collect();
    let connects: String = tunnels
        .iter()
        .enumerate()
        .map(|(i, t)| connected(t, &format!("2025-03-14T09:0{i}:00Z")))
        .collect();
    k.append(connects.as_bytes()).await;
    tally.reset();
    let r = run(&k, NOW).await;
    assert_eq!(
        tally.count(Some("recordings"), Some("write")),
        3,
        "five sessions changed, each recording written once"
    );
    assert_eq!(r.joined, 3);
    for key in &keys {
        let e = k.row(key).await;
        assert_eq!(get_str(&e, "MatchConfidence"), Some("ambiguous"));
        assert_eq!(get_str(&e, "MatchCandidates"), Some("s1,s2,s3,s4,s5"));
    }
    assert_eq!(pending(&k).await, 0, "joined sessions are settled");
    // The ends shrink every window, but each still holds every recording: nothing to rewrite.
    let ends: String = tunnels
        .iter()
        .enumerate()
        .map(|(i, t)| {
            end(
                t,
                &format!("2025-03-14T09:0{i}:00Z"),
                "2025-03-14T09:50:00Z",
            )
        })
        .collect();
    k.append(ends.as_bytes()).await;
    tally.reset();
    let r = run(&k, NOW).await;
    assert_eq!((r.records, r.sessions, r.joined), (5, 5, 0));
    assert_eq!(rewrites(&tally), 0, "unchanged joins write nothing");
    assert_eq!(pending(&k).await, 0);
}

#[tokio::test]
async fn a_session_whose_window_shrinks_leaves_the_recordings_outside_it() {
    let (k, _) = counted().await;
    let key = k
        .recording("rec-late", datetime!(2025-03-14 10:30 UTC), &[])
        .await;
    let both = connected("s1", "2025-03-14T09:00:00Z") + &connected("s2", "2025-03-14T09:10:00Z");
    k.append(both.as_bytes()).await;
    run(&k, NOW).await;
    assert_eq!(
        get_str(&k.row(&key).await, "MatchCandidates"),
        Some("s1,s2"),
        "both open: both fit"
    );
    // s1 ended at 09:50: its window closes at 10:20, before the recording. Only its old window
    // held the recording, so only the pending range (old and new windows) finds it.
    k.append(end("s1", "2025-03-14T09:00:00Z", "2025-03-14T09:50:00Z").as_bytes())
        .await;
    run(&k, NOW).await;
    let e = k.row(&key).await;
    assert_eq!(get_str(&e, "MatchConfidence"), Some("heuristic"));
    assert_eq!(get_str(&e, "TunnelId"), Some("s2"));
}

/// The hour's sessions (start spread over the hour, ten minutes long) over `recordings` unjoined
/// recordings spread over the same hour, tailed in three ticks. Returns (records, storage calls
/// except the writes of changed joins, catalogue rows written).
async fn hour(sessions: usize, recordings: usize) -> (u64, u64, u64) {
    let (k, tally) = counted().await;
    let hour = datetime!(2025-03-14 09:00 UTC);
    for j in 0..recordings {
        let at = hour + Duration::seconds((j as i64 * 3600 + 1800) / recordings as i64);
        k.recording(&format!("other-{j:04}.webm"), at, &[]).await;
    }
    let t = |d: OffsetDateTime| crate::dates::format_utc(d);
    let mut lines: Vec<(OffsetDateTime, String)> = Vec::new();
    for i in 0..sessions {
        let start = hour + Duration::seconds(i as i64 * 3600 / sessions as i64);
        let stop = start + Duration::minutes(10);
        let tunnel = format!("{i:08}-0000-4000-8000-000000000000");
        lines.push((start, connected(&tunnel, &t(start))));
        lines.push((stop, end(&tunnel, &t(start), &t(stop))));
    }
    lines.sort();
    let (mut records, mut calls) = (0, 0);
    tally.reset();
    for part in lines.chunks(lines.len().div_ceil(3)) {
        let text: String = part.iter().map(|(_, l)| l.as_str()).collect();
        k.append(text.as_bytes()).await;
        let blobs = k.blobs.calls();
        let r = run(&k, NOW + Duration::hours(1)).await;
        records += r.records;
        calls += k.blobs.calls() - blobs;
    }
    calls += tally.count(None, None);
    let rows = tally.count(Some("recordings"), Some("write"));
    assert_eq!(pending(&k).await, 0, "everything joined");
    (records, calls - rewrites(&tally), rows)
}

#[tokio::test]
async fn storage_calls_per_audit_record_stay_bounded_whatever_the_recordings_in_the_window() {
    let (records, quiet, none) = hour(40, 0).await;
    assert_eq!((records, none), (80, 0));
    let (records, busy, rows) = hour(40, 200).await;
    assert_eq!(records, 80);
    assert!(quiet <= 10 * records, "{quiet} calls for {records} records");
    assert!(busy <= 10 * records, "{busy} calls for {records} records");
    // Beyond the writes their changed joins need, 200 recordings in the window cost the index days
    // they need and, for each session an ambiguous match leaves or joins, one mark (read + write)
    // and its keys in one more round: at most once per session and tick, never per recording.
    assert!(busy - quiet <= 3 * 3 + 40 * 3 * 2, "{busy} vs {quiet}");
    // Each tick writes a recording's row at most once, never once per changed session.
    assert!(rows <= 200 * 3, "{rows}");
}

#[tokio::test]
async fn a_store_too_slow_for_the_budget_still_makes_progress_every_tick() {
    let mut k = kit(None);
    let clock = Arc::new(FixedClock::new(NOW));
    let slow = clock.clone();
    let tally = Arc::new(Tally::on_each_call(
        k.state.ports.tables.clone(),
        move || slow.advance(Duration::seconds(2)),
    ));
    k.state.ports.tables = tally;
    k.state.ports.clock = clock;
    std::sync::Arc::make_mut(&mut k.state.audit).tail_budget = Duration::seconds(10);
    k.create_log().await;
    k.register().await;
    let key = k
        .recording("rec-slow", datetime!(2025-03-14 09:30 UTC), &[])
        .await;
    let text: String = (0..12)
        .map(|i| connected(&format!("slow-{i:02}"), "2025-03-14T09:10:00Z"))
        .collect();
    k.append(text.as_bytes()).await;
    let (mut ticks, mut cut, mut last) = (0, false, 0);
    while k.cursor().await.offset < text.len() as u64 || pending(&k).await > 0 {
        ticks += 1;
        assert!(ticks <= 40, "no progress after {ticks} ticks");
        let r = run(&k, NOW).await;
        cut |= r.cut;
        let c = k.cursor().await;
        assert!(
            c.offset > last || c.offset == text.len() as u64,
            "each tick reads on"
        );
        last = c.offset;
    }
    assert!(cut, "the budget was spent at least once");
    assert!(ticks > 1, "more than one tick was needed");
    let e = k.row(&key).await;
    assert_eq!(get_str(&e, "MatchConfidence"), Some("ambiguous"));
    assert_eq!(
        get_str(&e, "MatchCandidates").map(|c| c.split(',').count()),
        Some(12)
    );
}

/// A tick that finds a join running in this instance leaves its sessions to it: no reads, no
/// writes, the sessions stay pending (for the runner's next round, or the next tick).
#[tokio::test]
async fn a_join_already_running_in_this_instance_takes_the_sessions_over() {
    let (k, tally) = counted().await;
    let key = k
        .recording("rec-a", datetime!(2025-03-14 09:20 UTC), &[])
        .await;
    k.append(connected("s1", "2025-03-14T09:00:00Z").as_bytes())
        .await;
    let held = k.state.join_gate.enter().expect("nothing runs yet");
    assert!(k.state.join_gate.take());
    let r = run(&k, NOW).await;
    assert_eq!(r.joined, 0, "handed over");
    assert_eq!(pending(&k).await, 1, "still pending");
    assert_eq!(k.row(&key).await.get("MatchConfidence"), None);
    tally.reset();
    let never = crate::audit_logs::join::Deadline::never(k.state.ports.clock.clone());
    let handed = k
        .joiner()
        .run_pending(NOW, Duration::days(7), &never)
        .await
        .expect("join");
    assert_eq!(
        (handed.sessions, tally.count(None, None)),
        (0, 0),
        "a second caller touches nothing"
    );
    assert!(k.state.join_gate.take(), "the runner sees the requests");
    drop(held);
    let r = k
        .joiner()
        .run_pending(NOW, Duration::days(7), &never)
        .await
        .expect("join");
    assert_eq!(r.sessions, 1);
    assert_eq!(pending(&k).await, 0);
    assert!(k.row(&key).await.get("MatchConfidence").is_some());
}

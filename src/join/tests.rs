//! Join tests over the in-memory fakes: both arrival orders, exact, probable and ambiguous
//! matches, re-tagging, the lease, the budget, and the writes a new recording costs.

use crate::testkit::DefaultSources;
use std::sync::Arc;

use time::Duration;
use time::macros::datetime;

use crate::catalogue::days::{DAYS_TABLE, DayRow};
use crate::catalogue::recording::RecordingKey;
use crate::clock::Budget;
use crate::join::Scope;
use crate::retention::{TAG_CLASS, TAG_UNTIL};
use crate::storage::{BlobRef, BlobStore};
use crate::tables::get_str;
use crate::testkit::audit::{ALICE, Kit, NOW, Tally, kit, line};
use crate::testkit::files::sample_auditlog as fixture;
use crate::testkit::tail::run;

const PCI: &str = r#"
default = "ops-30d"
[classes.ops-30d]
days = 30
[classes.pci-1y]
days = 365
[[rules]]
class = "pci-1y"
vm = "vm-app-*"
protocol = "ssh"
"#;

/// A recording whose name carries Alice's tunnel id, catalogued at `at`.
async fn naming_alice(k: &Kit, at: time::OffsetDateTime) -> RecordingKey {
    k.recording(&format!("PLACEHOLDER-{ALICE}"), at, &[]).await
}

/// The day row of Alice's session.
async fn alice_row(k: &Kit) -> DayRow {
    let stored = k.state.ports.tables.get(DAYS_TABLE, "2025-03-14", ALICE);
    let e = stored.await.expect("get").expect("day row").entity;
    DayRow::from_entity(&e).expect("day row")
}

/// Appends `text` to the hour blob (created and registered on first use) and runs a tick.
async fn feed(k: &Kit, text: &[u8]) {
    feed_at(k, text, NOW).await;
}

/// [`feed`] with the tick at `at`.
async fn feed_at(k: &Kit, text: &[u8], at: time::OffsetDateTime) {
    if k.blobs.content(&k.blob()).is_none() {
        k.create_log().await;
        k.register().await;
    }
    k.append(text).await;
    run(k, at).await;
}

#[tokio::test]
async fn recording_first_then_session_joins_exactly() {
    let k = kit(None);
    let key = naming_alice(&k, datetime!(2025-03-14 09:42 UTC)).await;
    assert_eq!(
        get_str(&k.row(&key).await, "MatchConfidence"),
        Some("awaiting"),
        "no session yet: it awaits the one it names"
    );
    feed(&k, &fixture()).await;
    let e = k.row(&key).await;
    assert_eq!(get_str(&e, "MatchConfidence"), Some("exact"));
    assert_eq!(get_str(&e, "TunnelId"), Some(ALICE));
    assert_eq!(get_str(&e, "UserEmail"), Some("alice@contoso.com"));
    assert_eq!(get_str(&e, "TargetVm"), Some("vm-app-01"));
    assert_eq!(crate::tables::get_i64(&e, "DurationMs"), Some(2_283_524));
    let w = alice_row(&k).await;
    assert!(w.recorded && w.pending.is_none(), "{w:?}");
    assert_eq!(w.recording_ids, vec![key.id()]);
    let r = run(&k, NOW + Duration::hours(1)).await;
    assert!(
        r.findings
            .iter()
            .all(|n| n.kind.name != "session.unrecorded"),
        "joined sessions are recorded"
    );
}

#[tokio::test]
async fn session_first_then_recording_joins_by_time_when_catalogued_and_retags() {
    let k = kit(Some(PCI));
    feed(&k, &fixture()).await;
    let key = k
        .recording(
            "2025/03/14/opaque-name.bin",
            datetime!(2025-03-14 09:45 UTC),
            &[("owner", "Alice@Contoso.com")],
        )
        .await;
    let r = k.join_pass().await;
    assert_eq!(r.rewritten, 0, "joined when catalogued: {r:?}");
    let e = k.row(&key).await;
    // Matched by time alone: no vouching until the logs show the host wrote it.
    assert_eq!(get_str(&e, "MatchReason"), Some("writer-unconfirmed"));
    assert!(!alice_row(&k).await.recorded);
    k.host_wrote(&key).await;
    let r = k.join_pass().await;
    assert_eq!(r.rewritten, 1, "{r:?}");
    let e = k.row(&key).await;
    // The still-open c0ffee session on the same VM is also in the window; the e-mail hint narrows.
    assert_eq!(get_str(&e, "MatchConfidence"), Some("probable"));
    assert_eq!(get_str(&e, "MatchCandidates"), Some(ALICE));
    assert_eq!(
        get_str(&e, "RetentionClass"),
        Some("pci-1y"),
        "rule on VM + protocol now matches"
    );
    let blob = BlobRef::new(
        k.state.ports.sources.default_recordings().container.clone(),
        "2025/03/14/opaque-name.bin",
    );
    let tags = k.blobs.get_tags(&blob).await.expect("tags");
    assert_eq!(tags[TAG_CLASS], "pci-1y");
    assert_eq!(tags[TAG_UNTIL], "2026-03-14");
    assert!(alice_row(&k).await.recorded);
    let again = k.join_pass().await;
    assert_eq!(again.rewritten, 0, "idempotent: {again:?}");
}

#[tokio::test]
async fn retag_never_shortens_an_existing_retain_until() {
    let k = kit(Some(PCI));
    feed(&k, &fixture()).await;
    let name = "opaque.bin";
    let key = k
        .recording(
            name,
            datetime!(2025-03-14 09:45 UTC),
            &[("owner", "alice@contoso.com")],
        )
        .await;
    let blob = BlobRef::new(
        k.state.ports.sources.default_recordings().container.clone(),
        name,
    );
    let mut tags = k.blobs.get_tags(&blob).await.expect("tags");
    tags.insert(TAG_UNTIL.into(), "2030-01-01".into());
    k.blobs.set_tags(&blob, &tags, None).await.expect("set");
    k.host_wrote(&key).await;
    k.join_pass().await;
    assert_eq!(
        get_str(&k.row(&key).await, "MatchConfidence"),
        Some("probable")
    );
    let tags = k.blobs.get_tags(&blob).await.expect("tags");
    assert_eq!(tags[TAG_UNTIL], "2030-01-01", "the later date stays");
}

/// Two sessions on the host at the same time: a recording mentioning neither ties between them
/// and vouches for none (both unrecorded, `ambiguous`); one whose metadata names one VM goes to
/// that session alone, the other stays unrecorded.
#[tokio::test]
async fn overlapping_sessions_tie_and_a_recording_vouches_for_one_session_at_most() {
    let k = kit(None);
    let end =
        r#","sessionStartTime":"2025-03-14T09:00:00Z","sessionEndTime":"2025-03-14T09:30:00Z""#;
    let at = "2025-03-14T09:00:00Z";
    let text = line("s1", at, "Successfully Connected.", "VM-A", "ann", end)
        + &line("s2", at, "Successfully Connected.", "VM-B", "ben", end);
    feed(&k, text.as_bytes()).await;
    let key = k
        .recording("rec-1", datetime!(2025-03-14 09:35 UTC), &[])
        .await;
    k.host_wrote(&key).await;
    k.join_pass().await;
    let e = k.row(&key).await;
    assert_eq!(get_str(&e, "MatchConfidence"), Some("ambiguous"));
    assert_eq!(get_str(&e, "MatchCandidates"), Some("s1,s2"));
    assert!(!e.contains_key("TunnelId"), "never forced 1:1");
    let rows = || async {
        let rows = crate::tables::ops::query_all(
            k.state.ports.tables.as_ref(),
            DAYS_TABLE,
            &crate::tables::Filter::partition("2025-03-14"),
            10,
        )
        .await
        .expect("rows");
        rows.iter()
            .filter_map(|s| DayRow::from_entity(&s.entity))
            .map(|s| (s.tunnel_id, s.recorded, s.recorded_by, s.recording_ids))
            .collect::<Vec<_>>()
    };
    let ambiguous = |t: &str| (t.to_owned(), false, "ambiguous".to_owned(), Vec::new());
    assert_eq!(rows().await, [ambiguous("s1"), ambiguous("s2")]);
    let key2 = k
        .recording("rec-2", datetime!(2025-03-14 09:35 UTC), &[("vm", "VM-B")])
        .await;
    k.host_wrote(&key2).await;
    k.join_pass().await;
    let e = k.row(&key2).await;
    assert_eq!(
        (
            get_str(&e, "MatchConfidence"),
            get_str(&e, "MatchCandidates")
        ),
        (Some("probable"), Some("s2")),
        "metadata hint narrows"
    );
    let s2 = (
        "s2".to_owned(),
        true,
        "probable".to_owned(),
        vec![key2.id()],
    );
    assert_eq!(rows().await, [ambiguous("s1"), s2]);
}

/// A recording naming no session is matched by time against every start day its window reaches
/// (the lookback is a day or more, so two days at least): one query over those days, not one per
/// day, and a session that started the day before is found.
#[tokio::test]
async fn a_recording_matched_by_time_reads_its_start_days_in_one_query() {
    let mut k = kit(None);
    let tally = Arc::new(Tally::new(k.state.ports.tables.clone()));
    k.state.ports.tables = tally.clone();
    let text: String = [
        (
            "s-late",
            "2025-03-13T23:50:00Z",
            "VM-A",
            "ann",
            "2025-03-14T00:20:00Z",
        ),
        (
            "s-day",
            "2025-03-14T09:00:00Z",
            "VM-B",
            "ben",
            "2025-03-14T09:30:00Z",
        ),
    ]
    .iter()
    .map(|(t, start, vm, user, end)| {
        let times = format!(r#","sessionStartTime":"{start}","sessionEndTime":"{end}""#);
        line(t, start, "Successfully Connected.", vm, user, &times)
    })
    .collect();
    feed(&k, text.as_bytes()).await;
    tally.reset();
    let key = k
        .recording("rec-1", datetime!(2025-03-14 00:25 UTC), &[])
        .await;
    let queries = tally.count(Some(DAYS_TABLE), Some("query"));
    assert_eq!(queries, 1, "{:?}", tally.by_table());
    let e = k.row(&key).await;
    assert_eq!(get_str(&e, "MatchCandidates"), Some("s-late"), "{e:?}");
}

/// A recording that names its session is joined when catalogued however far outside the session's
/// window by time it was uploaded, as long as the service created it within the vouching lag
/// (`RECORDING_VOUCH_LAG_HOURS`, 24 h): the session's state follows at the next pass. A blob created
/// a week after it names the session too but vouches for nothing (`suspect`, `outside-window`).
#[tokio::test]
async fn an_exact_join_marks_the_session_within_the_vouching_lag_and_a_week_late_blob_is_suspect() {
    let k = kit(None);
    feed(&k, &fixture()).await;
    // Uploaded 20 hours after the session's end: outside the 30-minute window by time, inside the lag.
    let late = datetime!(2025-03-15 05:42 UTC);
    k.clock.set(late);
    let key = naming_alice(&k, late).await;
    assert_eq!(
        get_str(&k.row(&key).await, "MatchConfidence"),
        Some("exact")
    );
    k.join_pass().await;
    let w = alice_row(&k).await;
    assert!(w.recorded && w.pending.is_none(), "{w:?}");
    assert_eq!(w.recording_ids, vec![key.id()]);
    let week = datetime!(2025-03-21 09:42 UTC);
    k.clock.set(week);
    let planted = k.recording(&format!("late-{ALICE}"), week, &[]).await;
    let e = k.row(&planted).await;
    assert_eq!(
        (get_str(&e, "MatchConfidence"), get_str(&e, "MatchReason")),
        (Some("suspect"), Some("outside-window"))
    );
    assert_eq!(get_str(&e, "MatchCandidates"), Some(ALICE));
    assert!(!e.contains_key("TunnelId"), "names no session");
    k.join_pass().await;
    let w = alice_row(&k).await;
    assert_eq!(
        w.recording_ids,
        vec![key.id()],
        "the planted blob vouches for nothing"
    );
}

/// A session seen for the first time finds a recording that named it before its records came,
/// outside its window by time (through `recordingkeys`): the recording's match moves from awaiting to exact.
#[tokio::test]
async fn a_new_session_finds_the_recording_that_named_it_outside_its_window() {
    let k = kit(None);
    // After the session's window by time (its end plus 30 minutes), within the vouching lag.
    let early = datetime!(2025-03-14 10:15 UTC);
    k.clock.set(early);
    let key = naming_alice(&k, early).await;
    k.clock.set(early + Duration::minutes(30));
    k.join_pass().await;
    assert_eq!(
        get_str(&k.row(&key).await, "MatchConfidence"),
        Some("awaiting")
    );
    let now = early + Duration::minutes(45);
    k.clock.set(now);
    feed_at(&k, &fixture(), now).await;
    assert_eq!(
        get_str(&k.row(&key).await, "MatchConfidence"),
        Some("exact")
    );
    assert_eq!(alice_row(&k).await.recording_ids, vec![key.id()]);
}

/// Two recordings name a session not seen yet: one created after its window, decided by time
/// (to nothing) once its wait was over, one within its window (catalogued late, to nothing too). When the session arrives, the
/// recording its window holds does not spare the `recordingkeys` read: both end exact.
#[tokio::test]
async fn a_new_session_finds_the_recording_outside_its_window_beside_one_within_it() {
    let k = kit(None);
    // After the session's window by time (its end plus 30 minutes), within the vouching lag.
    let early = datetime!(2025-03-14 10:15 UTC);
    k.clock.set(early);
    let outside = k.recording(&format!("early-{ALICE}"), early, &[]).await;
    let now = datetime!(2025-03-14 12:16 UTC);
    k.clock.set(now);
    k.join_pass().await;
    assert_eq!(
        get_str(&k.row(&outside).await, "MatchConfidence"),
        None,
        "its wait over and no session then: matched by time, to nothing"
    );
    // Created within the window, catalogued late (its wait over too: matched by time, to nothing).
    let within = naming_alice(&k, datetime!(2025-03-14 09:42 UTC)).await;
    feed_at(&k, &fixture(), now + Duration::minutes(1)).await;
    for key in [&outside, &within] {
        let e = k.row(key).await;
        assert_eq!(
            get_str(&e, "MatchConfidence"),
            Some("exact"),
            "{}",
            key.id()
        );
        assert_eq!(get_str(&e, "TunnelId"), Some(ALICE), "{}", key.id());
    }
    let mut ids = vec![outside.id(), within.id()];
    ids.sort();
    let w = alice_row(&k).await;
    assert_eq!(w.recording_ids, ids, "{w:?}");
    assert!(w.recorded && w.pending.is_none(), "{w:?}");
}

#[tokio::test]
async fn the_index_row_follows_fields_only_the_sessions_api_shows() {
    let k = kit(None);
    let rec = |time: &str, props: &str| {
        format!(
            r#"{{"time":"{time}","operationName":"Microsoft.Network/BastionHost/connect","properties":{{"tunnelId":"{ALICE}","userName":"u","message":"Successfully Connected."{props}}}}}"#
        ) + "\n"
    };
    let target = r#","targetResourceId":"/S/x/virtualMachines/vm-z""#;
    feed(&k, rec("2025-03-14T09:00:00Z", target).as_bytes()).await;
    // Only the client IP arrives later.
    let later = rec(
        "2025-03-14T09:01:00Z",
        r#","clientIpAddress":"203.0.113.77""#,
    );
    feed(&k, later.as_bytes()).await;
    let w = alice_row(&k).await;
    assert_eq!(w.client_ip, "203.0.113.77");
    assert_eq!(w.target_resource_id, "/S/x/virtualMachines/vm-z");
}

/// A new recording naming a known session: its catalogue row is written once, joined, and the
/// passes that follow write it no more (they write its index rows and the session's state).
#[tokio::test]
async fn a_new_recording_of_a_known_session_is_written_once() {
    let mut k = kit(None);
    let tally = Arc::new(Tally::new(k.state.ports.tables.clone()));
    k.state.ports.tables = tally.clone();
    feed(&k, &fixture()).await;
    tally.reset();
    let key = naming_alice(&k, datetime!(2025-03-14 09:42 UTC)).await;
    k.join_pass().await;
    k.join_pass().await;
    // (The first write of a table meets none, creates it and writes again.)
    let writes = tally.count(Some("recordings"), Some("write"))
        - tally.count(Some("recordings"), Some("ensure"));
    assert_eq!(writes, 1, "{:?}", tally.by_table());
    assert_eq!(
        get_str(&k.row(&key).await, "MatchConfidence"),
        Some("exact")
    );
    assert!(alice_row(&k).await.recorded);
    assert!(
        tally.count(Some("recordingindex"), None) > 0,
        "its index rows"
    );
    assert_eq!(
        tally.count(Some("recordingkeys"), None),
        0,
        "its session known, its GUID is not indexed"
    );
}

/// A recording naming a session not known yet indexes its GUIDs (a session arriving after its
/// wait finds it there); the pass reads the sessions that many recordings of one start day were
/// joined with (created hours after them, outside their windows) by that day's partition, not two
/// point reads each.
#[tokio::test]
async fn an_unknown_session_is_indexed_and_many_joined_sessions_of_a_day_are_read_by_their_day() {
    let mut k = kit(None);
    let tally = Arc::new(Tally::new(k.state.ports.tables.clone()));
    k.state.ports.tables = tally.clone();
    let early = datetime!(2025-03-14 07:00 UTC);
    k.clock.set(early);
    naming_alice(&k, early).await;
    assert_eq!(
        tally.count(Some("recordingkeys"), Some("write"))
            - tally.count(Some("recordingkeys"), Some("ensure")),
        1
    );
    k.clock.set(NOW);
    let end =
        r#","sessionStartTime":"2025-03-14T05:00:00Z","sessionEndTime":"2025-03-14T05:30:00Z""#;
    let tunnels: Vec<String> = (0..20)
        .map(|i| format!("d0d0d0d0-0000-4000-8000-{i:012}"))
        .collect();
    let text: String = tunnels
        .iter()
        .enumerate()
        .map(|(i, t)| {
            line(
                t,
                "2025-03-14T09:00:00Z",
                "Successfully Connected.",
                &format!("VM-{i}"),
                "ann",
                end,
            )
        })
        .collect();
    feed(&k, text.as_bytes()).await;
    let at = datetime!(2025-03-14 09:40 UTC);
    for t in &tunnels {
        k.recording(&format!("vm/{t}.mp4"), at, &[]).await;
    }
    tally.reset();
    let r = k
        .join()
        .run(
            &Scope {
                since: "2025-03-01".into(),
                span: Some(crate::catalogue::days::Span::at(at)),
            },
            NOW,
            &Budget::unlimited(k.state.ports.clock.clone()),
        )
        .await
        .expect("pass");
    assert_eq!(r.evaluated, 20, "{r:?}");
    assert_eq!(
        tally.count(Some("sessions"), Some("get")),
        0,
        "{:?}",
        tally.by_table()
    );
    assert_eq!(
        tally.count(Some("sessionwindows"), Some("get")),
        0,
        "{:?}",
        tally.by_table()
    );
}

#[tokio::test]
async fn a_pass_while_another_has_the_lease_does_nothing_and_an_expired_lease_is_taken() {
    let k = kit(None);
    feed(&k, &fixture()).await;
    let key = naming_alice(&k, datetime!(2025-03-14 09:42 UTC)).await;
    let tables = k.state.ports.tables.as_ref();
    let (row, _) = crate::join::write::read_lease(tables).await.expect("read");
    let (table, lease_row) = (
        crate::join::write::STATE_TABLE,
        crate::join::write::LEASE_ROW,
    );
    let lease =
        crate::tables::lease::take(tables, table, lease_row, row, NOW, Duration::minutes(5))
            .await
            .expect("take")
            .expect("free");
    let r = k.join_pass().await;
    assert!(r.busy && r.rewritten == 0 && r.sessions == 0, "{r:?}");
    assert!(!alice_row(&k).await.recorded);
    k.clock.set(NOW + Duration::minutes(6));
    let r = k.join_pass().await;
    assert!(!r.busy, "the owner's time ran out: {r:?}");
    assert!(alice_row(&k).await.recorded);
    // The old owner's release leaves the lease of the pass that took it over alone.
    lease
        .release(tables, NOW, Default::default())
        .await
        .expect("release");
    assert!(k.row(&key).await.contains_key("MatchConfidence"));
}

#[tokio::test]
async fn a_spent_budget_leaves_the_rest_pending_for_the_next_pass() {
    let k = kit(None);
    feed(&k, &fixture()).await;
    let key = k
        .recording(
            "opaque.bin",
            datetime!(2025-03-14 09:45 UTC),
            &[("owner", "alice@contoso.com")],
        )
        .await;
    let scope = Scope {
        since: "2025-03-01".into(),
        span: None,
    };
    let spent = Budget::after(k.state.ports.clock.clone(), Duration::ZERO);
    k.host_wrote(&key).await;
    let r = k.join().run(&scope, NOW, &spent).await.expect("pass");
    assert!(r.cut, "{r:?}");
    assert!(!alice_row(&k).await.recorded, "not recorded: still pending");
    let r = k.join_pass().await;
    assert!(!r.cut);
    assert_eq!(
        get_str(&k.row(&key).await, "MatchConfidence"),
        Some("probable")
    );
    assert!(alice_row(&k).await.recorded);
}

#[tokio::test]
async fn every_session_the_pass_joins_is_recorded_as_changed_whatever_its_day() {
    let k = kit(None);
    let end =
        r#","sessionStartTime":"2025-03-10T22:00:00Z","sessionEndTime":"2025-03-10T22:20:00Z""#;
    // Records of a session three and a half days old, read now.
    let text = line(
        "late-1",
        "2025-03-10T22:00:00Z",
        "Successfully Connected.",
        "VM-A",
        "ann",
        end,
    );
    feed(&k, text.as_bytes()).await;
    let recorded = crate::catalogue::changes::marked(k.state.ports.tables.as_ref(), 100)
        .await
        .expect("record");
    let days: Vec<_> = recorded
        .iter()
        .map(|c| (c.day.as_str(), c.tunnel.as_str()))
        .collect();
    assert!(days.contains(&("2025-03-10", "late-1")), "{days:?}");
}

#[tokio::test]
async fn a_pending_session_the_round_reads_by_its_guid_is_cleared_when_its_window_was_read() {
    let k = kit(None);
    feed(&k, &fixture()).await;
    // A recording naming Alice's tunnel id, created the day after her window by time (within the
    // vouching lag): no read by time finds her, only her GUID does.
    let key = naming_alice(&k, datetime!(2025-03-15 05:00 UTC)).await;
    let w = alice_row(&k).await;
    let span = k.join().times.window_of(&w);
    let ports = &k.state.ports;
    crate::catalogue::days::put_pending(ports.tables.as_ref(), &ports.outbox, &w, span, NOW)
        .await
        .expect("mark pending");
    // A pass whose pending list starts after her day, forced over the recording's creation.
    let scope = Scope {
        since: "2025-03-15".into(),
        span: Some(crate::catalogue::days::Span::at(
            datetime!(2025-03-15 05:00 UTC),
        )),
    };
    let unlimited = Budget::unlimited(k.state.ports.clock.clone());
    let r = k.join().run(&scope, NOW, &unlimited).await.expect("pass");
    assert!(r.sessions >= 1, "{r:?}");
    let w = alice_row(&k).await;
    assert_eq!(w.recording_ids, vec![key.id()], "{w:?}");
    assert!(
        w.pending.is_none(),
        "recorded from its whole window, so no longer pending: {w:?}"
    );
}

/// The window filter of the sessions a range of creation times can match.
mod window_filter {
    use time::macros::datetime;

    use time::Duration;

    use crate::catalogue::days::DayRow;
    use crate::catalogue::session::SessionRecord;
    use crate::catalogue::session::outcome;
    use crate::join::correlate::{Times, in_window};
    use crate::join::window_filter;

    /// The server-side filter keeps exactly the rows `in_window` can accept for some time in range.
    #[test]
    fn the_filter_keeps_every_row_that_can_match() {
        let times = Times {
            lag: Duration::minutes(30),
            open_max: Duration::hours(12),
            wait: Duration::hours(2),
            vouch: Duration::hours(24),
        };
        let base = datetime!(2025-03-14 09:00 UTC);
        let (from, to) = (base, base + Duration::minutes(20));
        let mut kept = 0;
        for start_min in (-800..60).step_by(7) {
            for end in [None, Some(5), Some(40), Some(600)] {
                for out in [outcome::CONNECTED, outcome::LOGIN_FAILED] {
                    let mut s = SessionRecord::new("t");
                    s.session_start = Some(base + Duration::minutes(start_min));
                    s.session_end = end.map(|m| base + Duration::minutes(start_min + m));
                    s.outcome = out.into();
                    let row = DayRow::of(&s).expect("row");
                    let mut e = row.to_entity();
                    crate::tables::strip_annotations(&mut e);
                    let can =
                        (0..=20).any(|m| in_window(&row, from + Duration::minutes(m), &times));
                    let day = row.day();
                    let f = window_filter(&times, (&day, &day), from, to);
                    assert_eq!(
                        crate::testkit::tables::filter::matches(&f, &e),
                        can,
                        "{row:?}"
                    );
                    kept += usize::from(can);
                }
            }
        }
        assert!(kept > 10, "the grid covers matching rows too");
    }
}

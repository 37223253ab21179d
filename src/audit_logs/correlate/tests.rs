//! Matching tests: windows, narrowing by hints, ambiguity.

use time::macros::datetime;

use super::*;

fn row(
    tunnel: &str,
    vm: &str,
    user: &str,
    start: OffsetDateTime,
    end: Option<OffsetDateTime>,
) -> WindowRow {
    WindowRow {
        tunnel_id: tunnel.into(),
        start,
        end,
        host: "bas".into(),
        vm: vm.into(),
        user_name: user.into(),
        user_email: String::new(),
        protocol: "ssh".into(),
        outcome: outcome::CONNECTED.into(),
        end_arrived_at: None,
        recorded: false,
        recording_ids: vec![],
        unrecorded_notified: false,
        pending: None,
    }
}

const LAG: Duration = Duration::minutes(30);
const OPEN: Duration = Duration::hours(12);

fn facts(t: OffsetDateTime, hints: &str) -> RecordingFacts {
    RecordingFacts {
        created: t,
        hints: hints.into(),
        bastion: None,
    }
}

/// Two hubs, each with a `vm-app-01` and a session at the same time: a recording of a source tied
/// to one hub joins that hub's session alone (without the tie, the two are ambiguous).
#[test]
fn a_source_tied_to_a_bastion_only_matches_its_sessions() {
    let (start, end) = (
        datetime!(2025-03-14 09:00 UTC),
        datetime!(2025-03-14 09:40 UTC),
    );
    let mut weu = row("w", "vm-app-01", "alice", start, Some(end));
    weu.host = "bas-hub-weu".into();
    let mut neu = row("n", "vm-app-01", "alice", start, Some(end));
    neu.host = "bas-hub-neu".into();
    let rows = [weu, neu];
    let t = datetime!(2025-03-14 09:45 UTC);
    let untied = match_heuristic(&facts(t, "vm-app-01/x"), &rows, LAG, OPEN).expect("match");
    assert_eq!(untied.confidence, Confidence::Ambiguous);
    for (host, tunnel) in [("bas-hub-neu", "n"), ("bas-hub-weu", "w")] {
        let tied = RecordingFacts {
            bastion: Some(host.into()),
            ..facts(t, "vm-app-01/x")
        };
        let m = match_heuristic(&tied, &rows, LAG, OPEN).expect("match");
        assert_eq!(
            (m.confidence, m.tunnels),
            (Confidence::Heuristic, vec![tunnel.to_owned()])
        );
    }
    let elsewhere = RecordingFacts {
        bastion: Some("bas-other".into()),
        ..facts(t, "vm-app-01/x")
    };
    assert_eq!(match_heuristic(&elsewhere, &rows, LAG, OPEN), None);
}

#[test]
fn one_session_in_window_is_heuristic() {
    let rows = [row(
        "a",
        "vm-1",
        "alice",
        datetime!(2025-03-14 09:00 UTC),
        Some(datetime!(2025-03-14 09:40 UTC)),
    )];
    let m = match_heuristic(
        &facts(datetime!(2025-03-14 09:45 UTC), "x"),
        &rows,
        LAG,
        OPEN,
    )
    .expect("match");
    assert_eq!(
        m,
        Match {
            confidence: Confidence::Heuristic,
            tunnels: vec!["a".into()]
        }
    );
    for (at, why) in [
        (datetime!(2025-03-14 10:11 UTC), "after end + lag"),
        (datetime!(2025-03-14 08:55 UTC), "before start - skew"),
    ] {
        assert!(
            match_heuristic(&facts(at, "x"), &rows, LAG, OPEN).is_none(),
            "{why}"
        );
    }
}

#[test]
fn overlapping_sessions_are_ambiguous_unless_hints_narrow() {
    let t = datetime!(2025-03-14 09:45 UTC);
    let rows = [
        row(
            "b",
            "vm-2",
            "bob",
            datetime!(2025-03-14 09:10 UTC),
            Some(datetime!(2025-03-14 09:40 UTC)),
        ),
        row(
            "a",
            "vm-1",
            "alice",
            datetime!(2025-03-14 09:00 UTC),
            Some(datetime!(2025-03-14 09:40 UTC)),
        ),
        row("c", "vm-1", "carol", datetime!(2025-03-14 09:00 UTC), None),
    ];
    let m = match_heuristic(&facts(t, "recording"), &rows, LAG, OPEN).expect("match");
    assert_eq!(m.confidence, Confidence::Ambiguous);
    assert_eq!(m.tunnels, ["a", "b", "c"], "sorted, all kept");
    let m = match_heuristic(&facts(t, "vm-1/2025/x"), &rows, LAG, OPEN).expect("match");
    assert_eq!(m.tunnels, ["a", "c"]);
    let m = match_heuristic(&facts(t, "vm-1/alice"), &rows, LAG, OPEN).expect("match");
    assert_eq!(
        m,
        Match {
            confidence: Confidence::Heuristic,
            tunnels: vec!["a".into()]
        }
    );
}

#[test]
fn failed_and_open_sessions() {
    let mut failed = row("f", "vm-1", "x", datetime!(2025-03-14 09:00 UTC), None);
    failed.outcome = outcome::LOGIN_FAILED.into();
    assert!(
        match_heuristic(
            &facts(datetime!(2025-03-14 09:01 UTC), ""),
            &[failed],
            LAG,
            OPEN
        )
        .is_none()
    );
    let open = row("o", "vm-1", "x", datetime!(2025-03-14 09:00 UTC), None);
    assert!(in_window(&open, datetime!(2025-03-14 20:59 UTC), LAG, OPEN));
    assert!(!in_window(
        &open,
        datetime!(2025-03-14 21:01 UTC),
        LAG,
        OPEN
    ));
}

//! Matching tests: windows, narrowing by hints, ambiguity, exact and awaiting.

use time::macros::datetime;

use super::*;

fn row(
    tunnel: &str,
    vm: &str,
    user: &str,
    start: OffsetDateTime,
    end: Option<OffsetDateTime>,
) -> DayRow {
    let mut s = SessionRecord::new(tunnel);
    s.bastion_host = "bas".into();
    s.target_vm = vm.into();
    s.user_name = user.into();
    s.protocol = "ssh".into();
    s.outcome = outcome::CONNECTED.into();
    s.session_start = Some(start);
    s.session_end = end;
    DayRow::of(&s).expect("row")
}

const TIMES: Times = Times {
    lag: Duration::minutes(30),
    open_max: Duration::hours(12),
    wait: Duration::hours(2),
    vouch: Duration::hours(24),
};

/// A recording whose content the logs show written by the hosts' SAS (a match by time alone
/// needs that to vouch).
fn recording(t: OffsetDateTime, name: &str) -> Recording {
    let mut r = crate::testkit::audit::recording_row(name, t);
    r.etag = "0x1".into();
    r.writer = Some(crate::catalogue::writer::Writer {
        etag: "0x1".into(),
        operation: "PutBlob".into(),
        authentication: "SAS".into(),
        verdict: VOUCHES.into(),
        ..Default::default()
    });
    r
}

/// The match by time alone, long after any wait.
fn by_time(r: &Recording, rows: &[DayRow]) -> Option<Match> {
    decide(
        r,
        |_| None,
        rows,
        &TIMES,
        r.blob_created + Duration::days(1),
    )
    .0
}

#[test]
fn a_named_session_is_exact_and_an_unknown_one_is_awaited_for_the_wait() {
    let start = datetime!(2025-03-14 09:00 UTC);
    let rows = [row(
        "a",
        "vm-1",
        "alice",
        start,
        Some(start + Duration::minutes(40)),
    )];
    let t = start + Duration::minutes(45);
    let mut r = recording(t, "x");
    r.candidate_keys = vec!["zzz".into(), "a".into()];
    let exact = |g: &str| rows.iter().find(|w| w.tunnel_id == g);
    let (m, s) = decide(&r, exact, &[], &TIMES, t);
    assert_eq!(
        m.map(|m| (m.confidence, m.tunnels)),
        Some((Confidence::Exact, vec!["a".into()]))
    );
    assert_eq!(s.map(|s| s.tunnel_id.as_str()), Some("a"));
    r.candidate_keys = vec!["zzz".into()];
    let (m, s) = decide(&r, |_| None, &rows, &TIMES, t + Duration::minutes(119));
    assert_eq!(
        (m.map(|m| m.confidence), s),
        (Some(Confidence::Awaiting), None)
    );
    assert_eq!(
        TIMES.rejoin_at(
            &r,
            Some(&Match {
                confidence: Confidence::Awaiting,
                tunnels: vec![]
            }),
            t
        ),
        t + TIMES.wait
    );
    let (m, _) = decide(&r, |_| None, &rows, &TIMES, t + TIMES.wait);
    assert_eq!(
        m.map(|m| m.confidence),
        Some(Confidence::Probable),
        "matched by time after the wait"
    );
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
    let untied = by_time(&recording(t, "vm-app-01/x"), &rows).expect("match");
    assert_eq!(untied.confidence, Confidence::Ambiguous);
    for (host, tunnel) in [("bas-hub-neu", "n"), ("bas-hub-weu", "w")] {
        let mut tied = recording(t, "vm-app-01/x");
        tied.source_bastion = host.into();
        let m = by_time(&tied, &rows).expect("match");
        assert_eq!(
            (m.confidence, m.tunnels),
            (Confidence::Probable, vec![tunnel.to_owned()])
        );
    }
    let mut elsewhere = recording(t, "vm-app-01/x");
    elsewhere.source_bastion = "bas-other".into();
    assert_eq!(by_time(&elsewhere, &rows), None);
}

#[test]
fn one_session_in_window_is_probable() {
    let rows = [row(
        "a",
        "vm-1",
        "alice",
        datetime!(2025-03-14 09:00 UTC),
        Some(datetime!(2025-03-14 09:40 UTC)),
    )];
    let m = by_time(&recording(datetime!(2025-03-14 09:45 UTC), "x"), &rows).expect("match");
    assert_eq!(
        m,
        Match {
            confidence: Confidence::Probable,
            tunnels: vec!["a".into()]
        }
    );
    for (at, why) in [
        (datetime!(2025-03-14 10:11 UTC), "after end + lag"),
        (datetime!(2025-03-14 08:55 UTC), "before start - skew"),
    ] {
        assert!(by_time(&recording(at, "x"), &rows).is_none(), "{why}");
    }
}

/// A recording belongs to at most one session: of the sessions whose window holds its creation
/// time, the ones it mentions (VM, user), then the nearest start; a tie is ambiguous and vouches
/// for none.
#[test]
fn overlapping_sessions_go_to_the_nearest_start_and_a_tie_vouches_for_none() {
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
    let m = by_time(&recording(t, "recording"), &rows).expect("match");
    assert_eq!(
        (m.confidence, m.vouched()),
        (Confidence::Probable, &["b".to_owned()][..]),
        "the nearest start, the others left unrecorded"
    );
    let m = by_time(&recording(t, "vm-1/2025/x"), &rows).expect("match");
    assert_eq!(m.confidence, Confidence::Ambiguous);
    assert_eq!(m.tunnels, ["a", "c"], "the tied ones kept, sorted");
    assert!(m.vouched().is_empty(), "a tie vouches for none");
    let m = by_time(&recording(t, "vm-1/alice"), &rows).expect("match");
    assert_eq!(
        m,
        Match {
            confidence: Confidence::Probable,
            tunnels: vec!["a".into()]
        }
    );
}

proptest::proptest! {
    /// Whatever order the sessions are known in, the decision is the same, and a recording
    /// vouches for at most one session, one of those whose window holds it.
    #[test]
    fn a_time_match_is_one_session_whatever_the_order(
        starts in proptest::collection::vec((0i64..90, 0usize..2, 0usize..2, proptest::bool::ANY), 1..7),
        at in 0i64..120,
        hint in 0usize..4,
        seed in proptest::prelude::any::<u64>(),
    ) {
        let base = datetime!(2025-03-14 09:00 UTC);
        let (vms, users) = (["vm-1", "vm-2"], ["alice", "bob"]);
        let rows: Vec<DayRow> = starts
            .iter()
            .enumerate()
            .map(|(i, (m, vm, user, ended))| {
                let start = base + Duration::minutes(*m);
                let end = ended.then_some(start + Duration::minutes(20));
                row(&format!("t{i}"), vms[*vm], users[*user], start, end)
            })
            .collect();
        let name = ["rec", "vm-1/x", "bob/x", "vm-2/alice"][hint];
        let r = recording(base + Duration::minutes(at), name);
        let first = by_time(&r, &rows);
        let mut shuffled = rows.clone();
        let mut x = seed;
        for i in (1..shuffled.len()).rev() {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let j = usize::try_from(x >> 33).unwrap_or(0) % (i + 1);
            shuffled.swap(i, j);
        }
        proptest::prop_assert_eq!(&by_time(&r, &shuffled), &first);
        if let Some(m) = &first {
            proptest::prop_assert!(m.vouched().len() <= 1);
            for t in m.vouched() {
                let w = rows.iter().find(|w| &w.tunnel_id == t).expect("a known session");
                proptest::prop_assert!(in_window(w, r.blob_created, &TIMES));
            }
        }
    }
}

/// A match by time alone vouches only once the storage logs show its content written by the
/// hosts' recording identity or their SAS: no log row yet, a row of another content, or an
/// identity not ruled out are not enough; a tunnel id match stands as before.
#[test]
fn a_match_by_time_vouches_only_once_its_writer_is_the_hosts() {
    use crate::catalogue::writer::{VOUCHES_IDENTITY_UNKNOWN, Writer};
    let start = datetime!(2025-03-14 09:00 UTC);
    let rows = [row(
        "a",
        "vm-1",
        "alice",
        start,
        Some(start + Duration::minutes(40)),
    )];
    let mut r = recording(start + Duration::minutes(10), "plant.bin");
    let unconfirmed = Some(Confidence::Suspect(Doubt::WriterUnconfirmed));
    let confidence = |r: &Recording| by_time(r, &rows).map(|m| m.confidence);
    assert_eq!(confidence(&r), Some(Confidence::Probable), "the host's SAS");
    r.writer = None;
    assert_eq!(confidence(&r), unconfirmed, "no log row yet");
    let m = by_time(&r, &rows).expect("match");
    assert!(
        m.vouched().is_empty() && m.tunnels == ["a"],
        "its claim kept, vouching for none"
    );
    let host = Writer {
        etag: "0x0".into(),
        authentication: "SAS".into(),
        verdict: crate::catalogue::writer::VOUCHES.into(),
        ..Writer::default()
    };
    r.writer = Some(host.clone());
    assert_eq!(confidence(&r), unconfirmed, "another content's writer");
    r.writer = Some(Writer {
        etag: "0x1".into(),
        authentication: "OAuth".into(),
        verdict: VOUCHES_IDENTITY_UNKNOWN.into(),
        ..host
    });
    assert_eq!(confidence(&r), unconfirmed, "an identity not ruled out");
    // A tunnel id needs no writer to match (the writer check can still make it suspect).
    r.writer = None;
    r.candidate_keys = vec!["a".into()];
    let exact = |g: &str| rows.iter().find(|w| w.tunnel_id == g);
    let m = decide(&r, exact, &rows, &TIMES, start + Duration::days(1)).0;
    assert_eq!(m.map(|m| m.confidence), Some(Confidence::Exact));
}

/// A recording overwritten outside the product keeps the session it had: its new content (here
/// created long after, by nobody the logs show) is not matched again.
#[test]
fn a_replaced_recording_keeps_its_session() {
    let start = datetime!(2025-03-14 09:00 UTC);
    let end = start + Duration::minutes(40);
    let rows = [row("a", "vm-1", "alice", start, Some(end))];
    let mut r = recording(end, "rec/a.webm");
    r.candidate_keys = vec!["a".into()];
    let now = end + Duration::days(1);
    let exact = |g: &str| rows.iter().find(|w| w.tunnel_id == g);
    let (m, s) = decide_view(&r, exact, &rows, &TIMES, now);
    r.joined = m.map(|m| crate::catalogue::recording::Joined { m, session: s });
    // Overwritten two days later by an account key.
    r.replaced = Some(crate::catalogue::recording::Replaced {
        etag: "0x1".into(),
        length: 5000,
        sha256: String::new(),
        at: "2025-03-16T09:00:00Z".into(),
    });
    r.etag = "0x2".into();
    r.created = Some(end + Duration::days(2));
    r.writer = Some(crate::catalogue::writer::Writer {
        etag: "0x2".into(),
        authentication: "AccountKey".into(),
        ..Default::default()
    });
    let (m, s) = decide(&r, exact, &rows, &TIMES, now);
    assert!(
        s.is_none() && m.is_some_and(|m| m.vouched().is_empty()),
        "decided afresh: suspect"
    );
    let (m, s) = decide_view(&r, exact, &rows, &TIMES, now);
    assert_eq!(m.map(|m| m.confidence), Some(Confidence::Exact));
    assert_eq!(s.as_ref().map(|s| s.user_name.as_str()), Some("alice"));
    // The session's row unknown now: the fields the row holds.
    let none = |_: &str| None;
    let (_, kept) = decide_view(&r, none, &[], &TIMES, now);
    assert_eq!(kept, s);
}

#[test]
fn failed_and_open_sessions() {
    let mut failed = row("f", "vm-1", "x", datetime!(2025-03-14 09:00 UTC), None);
    failed.outcome = outcome::LOGIN_FAILED.into();
    assert!(by_time(&recording(datetime!(2025-03-14 09:01 UTC), ""), &[failed]).is_none());
    let open = row("o", "vm-1", "x", datetime!(2025-03-14 09:00 UTC), None);
    assert!(in_window(&open, datetime!(2025-03-14 20:59 UTC), &TIMES));
    assert!(!in_window(&open, datetime!(2025-03-14 21:01 UTC), &TIMES));
}

#[test]
fn a_change_affects_its_old_and_new_windows_and_nothing_else_affects_any() {
    let mut a = SessionRecord::new("t");
    a.session_start = Some(datetime!(2025-03-14 09:00 UTC));
    a.outcome = outcome::CONNECTED.into();
    assert_eq!(TIMES.affected(Some(&a), &a), None);
    let mut b = a.clone();
    b.session_end = Some(datetime!(2025-03-14 09:10 UTC));
    let span = TIMES.affected(Some(&a), &b).expect("changed");
    assert_eq!(span.from, datetime!(2025-03-14 08:58 UTC));
    assert_eq!(
        span.until,
        datetime!(2025-03-14 21:00 UTC),
        "the open window before"
    );
    let mut c = b.clone();
    c.messages.push("x".into());
    assert_eq!(
        TIMES.affected(Some(&b), &c),
        None,
        "not a field the day row holds"
    );
}

#[test]
fn a_blob_that_cannot_be_the_recording_is_suspect_and_vouches_for_none() {
    let start = datetime!(2025-03-14 09:00 UTC);
    let end = start + Duration::minutes(40);
    let rows = [row("a", "vm-1", "alice", start, Some(end))];
    let exact = |g: &str| rows.iter().find(|w| w.tunnel_id == g);
    let named = |t: OffsetDateTime| {
        let mut r = recording(t, "notes/a.txt");
        r.candidate_keys = vec!["a".into()];
        r
    };
    let suspect = |d| Some((Confidence::Suspect(d), vec!["a".to_owned()]));
    let of = |(m, s): (Option<Match>, Option<&DayRow>)| {
        assert!(
            m.as_ref()
                .is_none_or(|m| !matches!(m.confidence, Confidence::Suspect(_)) || s.is_none()),
            "a suspect match names no session"
        );
        m.map(|m| (m.confidence, m.tunnels))
    };
    // Long enough: exact, as before.
    let inside = named(end + Duration::minutes(30));
    assert_eq!(
        of(decide(&inside, exact, &[], &TIMES, end)).map(|m| m.0),
        Some(Confidence::Exact)
    );
    // Too small: suspect whatever the match, by name or by time; awaiting is left to wait.
    let mut small = named(end);
    small.below_min_bytes = Some(4096);
    assert_eq!(
        of(decide(&small, exact, &[], &TIMES, end)),
        suspect(Doubt::TooSmall)
    );
    let m = decide(&small, exact, &[], &TIMES, end).0.expect("match");
    assert!(m.vouched().is_empty() && m.session().is_none());
    small.candidate_keys.clear();
    assert_eq!(
        by_time(&small, &rows).map(|m| (m.confidence, m.tunnels)),
        suspect(Doubt::TooSmall)
    );
    small.candidate_keys = vec!["unknown".into()];
    assert_eq!(
        decide(&small, |_| None, &rows, &TIMES, end)
            .0
            .map(|m| m.confidence),
        Some(Confidence::Awaiting)
    );
    // Deleted before the catalogue read it: nothing.
    let mut gone = named(end);
    gone.status = crate::catalogue::recording::STATUS_DELETED_BEFORE.into();
    assert_eq!(decide(&gone, exact, &rows, &TIMES, end), (None, None));
}

/// The vouching window: a blob the service created before the session's start less the skew, or
/// after its end plus `RECORDING_VOUCH_LAG_HOURS`, is suspect whatever names it; its boundaries
/// belong to the window; the blob's own creation time decides, not the event's.
#[test]
fn a_blob_created_outside_the_sessions_window_plus_the_lag_is_suspect() {
    let start = datetime!(2025-03-14 09:00 UTC);
    let end = start + Duration::minutes(40);
    let rows = [
        row("a", "vm-1", "alice", start, Some(end)),
        row("open", "vm-2", "bob", start, None),
    ];
    let exact = |g: &str| rows.iter().find(|w| w.tunnel_id == g);
    let decided = |tunnel: &str, created: OffsetDateTime| {
        // The event came in the window: only the blob's creation time is outside.
        let mut r = recording(end + Duration::minutes(5), "x.webm");
        r.candidate_keys = vec![tunnel.into()];
        r.created = Some(created);
        let (m, s) = decide(&r, exact, &rows, &TIMES, end + Duration::days(30));
        let m = m.expect("a match");
        if matches!(m.confidence, Confidence::Suspect(_)) {
            assert!(s.is_none() && m.vouched().is_empty(), "vouches for none");
            assert_eq!(m.tunnels, [tunnel.to_owned()], "its candidate is kept");
        }
        m.confidence
    };
    let late = Confidence::Suspect(Doubt::OutsideWindow);
    let lag = TIMES.vouch;
    for (created, want) in [
        (start - SKEW - Duration::SECOND, late),
        (start - SKEW, Confidence::Exact),
        (start + Duration::minutes(10), Confidence::Exact),
        (end + lag, Confidence::Exact),
        (end + lag + Duration::SECOND, late),
        (end + Duration::days(3), late),
    ] {
        assert_eq!(decided("a", created), want, "created {created}");
    }
    // While the end is unknown, the open window's end plus the lag.
    let open_until = start + TIMES.open_max + lag;
    assert_eq!(decided("open", open_until), Confidence::Exact);
    assert_eq!(decided("open", open_until + Duration::SECOND), late);
    // By time: an old blob overwritten in the window fits by its event but was created long before.
    let mut old = recording(start + Duration::minutes(45), "x.webm");
    old.created = Some(start - Duration::days(2));
    assert_eq!(by_time(&old, &rows[..1]).map(|m| m.confidence), Some(late));
    old.created = None;
    assert_eq!(
        by_time(&old, &rows[..1]).map(|m| m.confidence),
        Some(Confidence::Probable),
        "without a creation time, the event's time (in the window)"
    );
    // Too small wins over the window; awaiting is left to wait.
    let mut small = recording(end, "x");
    small.candidate_keys = vec!["a".into()];
    small.created = Some(end + Duration::days(3));
    small.below_min_bytes = Some(4096);
    assert_eq!(
        decide(&small, exact, &rows, &TIMES, end)
            .0
            .map(|m| m.confidence),
        Some(Confidence::Suspect(Doubt::TooSmall))
    );
    small.below_min_bytes = None;
    small.candidate_keys = vec!["unknown".into()];
    assert_eq!(
        decide(&small, |_| None, &rows, &TIMES, end)
            .0
            .map(|m| m.confidence),
        Some(Confidence::Awaiting)
    );
}

/// A blob whose current content the storage logs show written otherwise than through a SAS
/// vouches for nothing, exact or by time; a SAS write, no log row yet, or a log row of an earlier
/// content leaves the match as it was; the size and the window are judged first.
#[test]
fn a_blob_written_otherwise_than_through_a_sas_or_an_identity_is_suspect() {
    use crate::catalogue::writer::Writer;
    let start = datetime!(2025-03-14 09:00 UTC);
    let end = start + Duration::minutes(40);
    let rows = [row("a", "vm-1", "alice", start, Some(end))];
    let exact = |g: &str| rows.iter().find(|w| w.tunnel_id == g);
    let writer = |auth: &str, etag: &str| Writer {
        etag: crate::storage::normalize_etag(etag).into(),
        operation: "PutBlob".into(),
        authentication: auth.into(),
        ..Writer::default()
    };
    let mut r = recording(end + Duration::minutes(5), "rec/a.webm");
    r.writer = None;
    r.candidate_keys = vec!["a".into()];
    let decided = |r: &Recording| {
        let (m, s) = decide(r, exact, &rows, &TIMES, end + Duration::days(1));
        let m = m.expect("a match");
        (m.confidence, s.is_some(), m.vouched().len(), m.tunnels)
    };
    let other = Confidence::Suspect(Doubt::OtherWriter);
    assert_eq!(
        decided(&r).0,
        Confidence::Exact,
        "no log row yet: the match stands"
    );
    r.writer = Some(writer("SAS", "0x1"));
    assert_eq!(decided(&r).0, Confidence::Exact);
    r.writer = Some(writer("OAuth", "0x1"));
    assert_eq!(
        decided(&r).0,
        Confidence::Exact,
        "a host's managed identity"
    );
    // Judged against the host's recording identity once known.
    let ids = crate::catalogue::identity::Identities {
        principals: vec!["0b5e".into()],
        ..Default::default()
    };
    let mut entra = writer("OAuth", "0x1");
    entra.object_id = "9a8b".into();
    r.writer = Some(entra.clone().judged(&ids));
    assert_eq!(
        decided(&r).0,
        Confidence::Suspect(Doubt::NotRecordingIdentity)
    );
    entra.object_id = "0B5E".into();
    r.writer = Some(entra.judged(&ids));
    assert_eq!(decided(&r).0, Confidence::Exact, "the host's identity");
    for auth in ["AccountKey", "Anonymous"] {
        r.writer = Some(writer(auth, "\"0x1\""));
        assert_eq!(
            decided(&r),
            (other, false, 0, vec!["a".to_owned()]),
            "{auth}: suspect, vouching for none, its claim kept"
        );
    }
    r.writer = Some(writer("AccountKey", "0x0"));
    assert_eq!(decided(&r).0, Confidence::Exact, "another content's writer");
    // By time alone too.
    let mut t = recording(end + Duration::minutes(5), "rec/b.webm");
    t.etag = "0x1".into();
    t.writer = Some(writer("Anonymous", "0x1"));
    assert_eq!(by_time(&t, &rows).map(|m| m.confidence), Some(other));
    // Too small, and outside the window, are named first.
    r.writer = Some(writer("AccountKey", "0x1"));
    r.below_min_bytes = Some(4096);
    assert_eq!(decided(&r).0, Confidence::Suspect(Doubt::TooSmall));
    r.below_min_bytes = None;
    r.created = Some(end + Duration::days(3));
    assert_eq!(decided(&r).0, Confidence::Suspect(Doubt::OutsideWindow));
}

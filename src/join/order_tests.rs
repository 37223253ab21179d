//! Property test of the join over the in-memory stores: for small generated estates (1–4 sessions
//! on 1–2 hosts and VMs, open and ended, overlapping and disjoint; 0–3 recordings naming their
//! session's tunnel id, an unknown GUID or nothing, the latter two logged written by the host),
//! **every arrival order** of audit records and
//! recordings (audit records before, between and after recordings; records and events delivered
//! twice), with ticks at random times in between — some with the timer's time ahead of the
//! instance's clock, some while another instance has the join pass's lease — ends in the state computed
//! from all inputs at once: each recording's match, each session's recorded state and recording
//! ids as stored and as the sessions listing answers them (a recording naming a session that it was
//! created before is suspect, whatever the order); no session that a catalogued recording names
//! and could be the recording of (created from its start less the skew on) is ever alerted
//! unrecorded; and every ended session that no recording vouches for is alerted exactly once.

use crate::testkit::DefaultSources;
use crate::testkit::Domains;
use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::catalogue::days::{DAYS_TABLE, DayRow};
use crate::catalogue::doubt::Doubt;
use crate::catalogue::recording::{Confidence, Match};
use crate::catalogue::session::{SessionRecord, outcome};
use crate::join::correlate::{Times, decide};
use crate::storage::BlobStore;
use crate::tables::ops::query_all;
use crate::tables::{Filter, get_str};
use crate::testkit::audit::{Kit, NOW, kit};
use crate::testkit::tail::ticked as tick;

const HOUR: OffsetDateTime = time::macros::datetime!(2025-03-14 09:00 UTC);
const HOSTS: [&str; 2] = ["BAS-HUB-WEU", "BAS-HUB-NEU"];

#[derive(Debug, Clone)]
struct Session {
    host: usize,
    vm: usize,
    user: usize,
    start: i64,
    /// Minutes; `None`: still open.
    length: Option<i64>,
}

#[derive(Debug, Clone)]
enum Names {
    /// The tunnel id of session `i` (modulo the sessions).
    Session(usize),
    /// A GUID that is no session.
    Unknown,
    /// No GUID at all.
    Nothing,
}

#[derive(Debug, Clone)]
struct Recording {
    names: Names,
    created: i64,
}

#[derive(Debug, Clone)]
enum Event {
    Connect(usize),
    End(usize),
    Recording(usize),
    /// A session's connect record written again.
    RepeatConnect(usize),
    /// A recording's event delivered again.
    RepeatRecording(usize),
}

/// A tick after an event: the timer's time ahead of the clock by `ahead` minutes; `busy`: another
/// instance has the join pass's lease meanwhile (the tick's pass finds it busy, its checks still run).
#[derive(Debug, Clone, Copy)]
struct Tick {
    ahead: i64,
    busy: bool,
}

fn tunnel(i: usize) -> String {
    format!("{i:08x}-1111-4111-8111-111111111111")
}

fn at(min: i64) -> OffsetDateTime {
    HOUR + Duration::minutes(min)
}

fn path(host: &str) -> String {
    format!(
        "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-HUB/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/{host}/y=2025/m=03/d=14/h=09/m=00/PT1H.json"
    )
}

fn record(s: &Session, i: usize, end: bool) -> String {
    let t = |m: i64| crate::dates::format_utc(at(m));
    let (time, message, extra) = match (end, s.length) {
        (true, Some(len)) => (
            t(s.start + len),
            "Session Ended",
            format!(
                r#","sessionStartTime":"{}","sessionEndTime":"{}""#,
                t(s.start),
                t(s.start + len)
            ),
        ),
        _ => (t(s.start), "Successfully Connected.", String::new()),
    };
    format!(
        r#"{{"time":"{time}","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-HUB/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/{host}","operationName":"Microsoft.Network/BastionHost/connect","properties":{{"userName":"user{user}","clientIpAddress":"203.0.113.9","protocol":"ssh","targetResourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/vm{vm}","message":"{message}","tunnelId":"{tunnel}"{extra}}}}}"#,
        host = HOSTS[s.host],
        user = s.user,
        vm = s.vm,
        tunnel = tunnel(i),
    ) + "\n"
}

/// True when the service created `r` within the vouching window of session `s`: from its start
/// less the 2 minutes' skew on (the generated times never reach its end plus the vouching lag).
fn vouches(r: &Recording, s: &Session) -> bool {
    r.created >= s.start - 2
}

fn recording_name(r: &Recording, j: usize, sessions: usize) -> String {
    match r.names {
        Names::Session(i) => format!("rec-{j}-{}.webm", tunnel(i % sessions)),
        Names::Unknown => format!("rec-{j}-{}.webm", "9e9e9e9e-2222-4222-8222-222222222222"),
        Names::Nothing => format!("rec-{j}.webm"),
    }
}

/// The final state computed from all inputs at once: each recording's match, and the recordings
/// naming each session.
fn expected(
    sessions: &[Session],
    recordings: &[Recording],
    k: &Kit,
) -> (Vec<Option<Match>>, BTreeMap<String, Vec<usize>>) {
    let audit = &k.state.audit;
    let times = Times {
        lag: audit.upload_lag,
        open_max: audit.open_session_max,
        wait: audit.session_wait,
        vouch: audit.vouch_lag,
    };
    let rows: Vec<DayRow> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut r = SessionRecord::new(&tunnel(i));
            r.session_start = Some(at(s.start));
            r.session_end = s.length.map(|l| at(s.start + l));
            r.bastion_host = HOSTS[s.host].to_ascii_lowercase();
            r.target_vm = format!("vm{}", s.vm);
            r.user_name = format!("user{}", s.user);
            r.protocol = "ssh".into();
            r.outcome = outcome::CONNECTED.into();
            DayRow::of(&r).expect("row")
        })
        .collect();
    let mut named: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let matches = recordings
        .iter()
        .enumerate()
        .map(|(j, r)| {
            let name = recording_name(r, j, sessions.len());
            let m = match r.names {
                // Exact when it could be the session's recording, else suspect.
                Names::Session(i) if vouches(r, &sessions[i % sessions.len()]) => Some(Match {
                    confidence: Confidence::Exact,
                    tunnels: vec![tunnel(i % sessions.len())],
                }),
                Names::Session(i) => Some(Match {
                    confidence: Confidence::Suspect(Doubt::OutsideWindow),
                    tunnels: vec![tunnel(i % sessions.len())],
                }),
                _ => {
                    // By time, long after any wait (an unknown GUID is never a session).
                    let mut rec = crate::testkit::audit::recording_row(&name, at(r.created));
                    rec.writer = Some(crate::catalogue::writer::Writer {
                        verdict: crate::catalogue::writer::VOUCHES.into(),
                        ..Default::default()
                    });
                    decide(
                        &rec,
                        |_| None,
                        &rows,
                        &times,
                        at(r.created) + Duration::days(1),
                    )
                    .0
                }
            };
            for t in m.iter().flat_map(|m| m.vouched()) {
                named.entry(t.clone()).or_default().push(j);
            }
            m
        })
        .collect();
    (matches, named)
}

/// Feeds `order` (each event followed by a clock step and, when asked, a tick), then settles with
/// ticks well after every wait, and checks the final state.
async fn run(
    sessions: Vec<Session>,
    recordings: Vec<Recording>,
    order: Order,
) -> Result<(), TestCaseError> {
    let k = kit(None);
    let tail = k.state.tailer();
    let source = k.state.ports.sources.default_audit_logs().clone();
    for host in HOSTS {
        let blob = crate::storage::BlobRef::new(source.container.clone(), path(host));
        k.blobs
            .create_append(&blob, "application/json")
            .await
            .expect("create");
        crate::audit_logs::created::register(&tail, &source, &path(host), NOW, NOW, false)
            .await
            .expect("register");
    }
    let append = |s: &Session, text: String| {
        let blob = crate::storage::BlobRef::new(source.container.clone(), path(HOSTS[s.host]));
        let blobs = k.blobs.clone();
        async move {
            blobs
                .append(&blob, bytes::Bytes::from(text))
                .await
                .expect("append");
        }
    };
    let mut alerts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut now = NOW;
    let mut keys = BTreeMap::new();
    // Sessions a catalogued recording names exactly by now: never alerted from then on.
    let mut exact: BTreeSet<String> = BTreeSet::new();
    let mut wrongly_alerted = Vec::new();
    let mut ticked = |r: crate::audit_logs::tail::TickReport, exact: &BTreeSet<String>| {
        for n in r
            .findings
            .iter()
            .filter(|n| n.kind.name == "session.unrecorded")
        {
            let t = n.evidence["tunnelId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if exact.contains(&t) {
                wrongly_alerted.push(t.clone());
            }
            alerts.entry(t).or_default().insert(n.id().clone());
        }
    };
    for (event, tick_after, step) in order {
        match event {
            Event::Connect(i) | Event::RepeatConnect(i) => {
                append(&sessions[i], record(&sessions[i], i, false)).await;
            }
            Event::End(i) if sessions[i].length.is_some() => {
                append(&sessions[i], record(&sessions[i], i, true)).await;
            }
            Event::End(_) => {}
            Event::Recording(j) | Event::RepeatRecording(j) => {
                let r = &recordings[j];
                let name = recording_name(r, j, sessions.len());
                let key = k.recording(&name, at(r.created), &[]).await;
                // A match by time alone vouches once the logs show the host wrote it: they do.
                if !matches!(r.names, Names::Session(_)) {
                    k.host_wrote(&key).await;
                }
                keys.insert(j, key);
                if let Names::Session(i) = r.names
                    && vouches(r, &sessions[i % sessions.len()])
                {
                    exact.insert(tunnel(i % sessions.len()));
                }
            }
        }
        now += Duration::minutes(step);
        k.clock.set(now);
        if let Some(t) = tick_after {
            let lease = if t.busy {
                Some(other_instance_pass(&k, now).await)
            } else {
                None
            };
            let timer = now + Duration::minutes(t.ahead);
            ticked(tick(&k.state, timer).await, &exact);
            if let Some(taken) = lease {
                taken
                    .release(&*k.state.ports.tables, now, Default::default())
                    .await
                    .expect("release");
            }
        }
    }
    // Long after every wait and grace: what is left to decide is decided.
    for h in [14, 15, 16] {
        now = HOUR + Duration::hours(h);
        k.clock.set(now);
        ticked(tick(&k.state, now).await, &exact);
    }
    prop_assert!(
        wrongly_alerted.is_empty(),
        "sessions named exactly by a catalogued recording were alerted unrecorded: {:?}",
        wrongly_alerted
    );
    let (matches, named) = expected(&sessions, &recordings, &k);
    for (j, m) in matches.iter().enumerate() {
        let row = k.row(&keys[&j]).await;
        let stored = (
            get_str(&row, "MatchConfidence"),
            get_str(&row, "MatchCandidates"),
        );
        let want = m
            .as_ref()
            .map(|m| (m.confidence.as_str(), m.tunnels.join(",")));
        prop_assert_eq!(
            stored,
            want.as_ref()
                .map(|(c, t)| (Some(*c), Some(t.as_str())))
                .unwrap_or((None, None)),
            "recording {}",
            j
        );
    }
    let rows = query_all(
        &*k.state.ports.tables,
        DAYS_TABLE,
        &Filter::str("PartitionKey", crate::tables::filter::Op::Ge, "2025"),
        100,
    )
    .await
    .expect("rows");
    let rows: Vec<DayRow> = rows
        .iter()
        .filter_map(|s| DayRow::from_entity(&s.entity))
        .collect();
    prop_assert_eq!(rows.len(), sessions.len());
    let listed = listed_sessions(&k).await;
    prop_assert_eq!(listed.len(), sessions.len());
    for row in &rows {
        let mut want: Vec<String> = named
            .get(&row.tunnel_id)
            .into_iter()
            .flatten()
            .map(|j| keys[j].id())
            .collect();
        want.sort();
        prop_assert_eq!(row.pending, None, "{} still pending", &row.tunnel_id);
        prop_assert_eq!(&row.recording_ids, &want, "session {}", &row.tunnel_id);
        prop_assert_eq!(row.recorded, !want.is_empty(), "session {}", &row.tunnel_id);
        let listed = &listed[&row.tunnel_id];
        prop_assert_eq!(&listed["recorded"], &serde_json::json!(!want.is_empty()));
        prop_assert_eq!(&listed["recordingIds"], &serde_json::json!(want));
        prop_assert_eq!(&listed["joinPending"], &serde_json::json!(false));
        let sent = alerts.get(&row.tunnel_id).map_or(0, BTreeSet::len);
        if row.end.is_some() && want.is_empty() {
            prop_assert_eq!(
                sent,
                1,
                "unrecorded session {} alerted once",
                &row.tunnel_id
            );
        }
    }
    Ok(())
}

/// The pass lease taken as another instance running its pass would have it.
async fn other_instance_pass(k: &Kit, now: OffsetDateTime) -> crate::tables::lease::Lease {
    let tables = &k.state.ports.tables;
    let (row, _) = crate::join::write::read_lease(tables.as_ref())
        .await
        .expect("lease row");
    let (table, key) = (
        crate::join::write::STATE_TABLE,
        crate::join::write::LEASE_ROW,
    );
    crate::tables::lease::take(tables.as_ref(), table, key, row, now, Duration::minutes(5))
        .await
        .expect("take")
        .expect("free")
}

/// The sessions as the sessions listing (`GET /api/sessions`) answers them, by session id.
async fn listed_sessions(k: &Kit) -> BTreeMap<String, serde_json::Value> {
    use crate::catalogue::query::shape::Shape as _;
    let q = crate::catalogue::query::Query {
        from: HOUR - Duration::days(1),
        to: HOUR + Duration::days(1),
        filters: Vec::new(),
        limit: 100,
        continuation: None,
    };
    let page = crate::catalogue::query::page::page::<DayRow>(k.state.ports.tables.as_ref(), &q)
        .await
        .expect("page")
        .expect("no continuation");
    page.rows
        .iter()
        .map(|r| (r.tunnel_id.clone(), r.json(None)))
        .collect()
}

fn estate() -> impl Strategy<Value = (Vec<Session>, Vec<Recording>)> {
    let session = (
        0..2usize,
        0..2usize,
        0..2usize,
        0..50i64,
        prop::option::weighted(0.8, 1..40i64),
    )
        .prop_map(|(host, vm, user, start, length)| Session {
            host,
            vm,
            user,
            start,
            length,
        });
    let names = prop_oneof![
        2 => (0..4usize).prop_map(Names::Session),
        1 => Just(Names::Unknown),
        2 => Just(Names::Nothing),
    ];
    let recording = (names, 0..100i64).prop_map(|(names, created)| Recording { names, created });
    (
        prop::collection::vec(session, 1..=4),
        prop::collection::vec(recording, 0..=3),
    )
}

/// Arrival order: each event, the tick that follows it (if any), and the clock step (minutes)
/// after it.
type Order = Vec<(Event, Option<Tick>, i64)>;

/// An estate, and one arrival order of its events.
fn case() -> impl Strategy<Value = (Vec<Session>, Vec<Recording>, Order)> {
    estate().prop_flat_map(|(sessions, recordings)| {
        let mut events: Vec<Event> = Vec::new();
        for i in 0..sessions.len() {
            events.push(Event::Connect(i));
            events.push(Event::End(i));
        }
        events.extend((0..recordings.len()).map(Event::Recording));
        let (ns, nr) = (sessions.len(), recordings.len());
        let repeats = prop::collection::vec(
            prop_oneof![
                (0..ns).prop_map(Event::RepeatConnect),
                (0..nr.max(1)).prop_map(move |j| if nr == 0 {
                    Event::RepeatConnect(0)
                } else {
                    Event::RepeatRecording(j)
                }),
            ],
            0..=2,
        );
        (Just(sessions), Just(recordings), Just(events), repeats).prop_flat_map(
            |(s, r, mut events, repeats)| {
                events.extend(repeats);
                let n = events.len();
                let tick = prop::option::of((0..10i64, prop::bool::weighted(0.25)))
                    .prop_map(|t| t.map(|(ahead, busy)| Tick { ahead, busy }));
                (
                    Just(s),
                    Just(r),
                    Just(events).prop_shuffle(),
                    prop::collection::vec((tick, 0..25i64), n),
                )
                    .prop_map(|(s, r, e, steps)| {
                        let order = e
                            .into_iter()
                            .zip(steps)
                            .map(|(e, (t, m))| (e, t, m))
                            .collect();
                        (s, r, order)
                    })
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_arrival_order_ends_in_the_state_of_all_inputs_at_once((sessions, recordings, order) in case()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(run(sessions, recordings, order))?;
    }
}

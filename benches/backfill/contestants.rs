//! One contestant's run: a fresh copy of the history, its settings, the timed backfill, and the
//! checks that it did the whole work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bastion_recordings::backfill;
use bastion_recordings::backfill::progress::Progress;
use bastion_recordings::catalogue::days::DAYS_TABLE;
use bastion_recordings::catalogue::key::INDEX_TABLE;
use bastion_recordings::catalogue::repo as paths;
use bastion_recordings::cli::backfill::{BackfillArgs, options};
use bastion_recordings::clock::SystemClock;
use bastion_recordings::state::AppState;
use bytes::Bytes;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::bare::{Bare, Done};
use crate::common::azurite::Azurite;
use crate::common::{self, Calls, Counted};
use crate::data::{self, History, Sizes};

/// Who backfills.
pub(crate) enum Who {
    /// A `handler` binary: (label, path).
    Binary(String, String),
    /// `backfill::run` in this process, over counting clients.
    InProcess,
    /// The bare client.
    Bare,
}

impl Who {
    /// Its name for `--contestants`.
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Self::Binary(..) => "binary",
            Self::InProcess => "inprocess",
            Self::Bare => "bare",
        }
    }

    pub(crate) fn label(&self) -> &str {
        match self {
            Self::Binary(label, _) => label,
            Self::InProcess => "this build: backfill::run in process (counted)",
            Self::Bare => "bare client (fewest calls, same clients)",
        }
    }
}

/// What a run measured.
pub(crate) struct Outcome {
    pub(crate) wall: Duration,
    /// Storage calls, when made through this process's counting clients.
    pub(crate) calls: Option<Calls>,
    /// Catalogue rows at the end.
    pub(crate) rows: usize,
    /// `recordingindex` rows at the end (the API's VM and user filters read them).
    pub(crate) index_rows: usize,
    /// `recordingpaths` rows at the end (a `BlobDeleted` event finds its row by them).
    pub(crate) path_rows: usize,
    /// What every contestant must end with alike: catalogue rows per `MatchConfidence`,
    /// `sessionwindows` rows per `Recorded`, and the row counts above.
    pub(crate) state: String,
}

/// What every contestant shares.
pub(crate) struct Run<'a> {
    pub(crate) azurite: &'a Azurite,
    pub(crate) sizes: Sizes,
    pub(crate) history: &'a History,
    pub(crate) from: OffsetDateTime,
    pub(crate) to: OffsetDateTime,
    pub(crate) concurrency: usize,
}

/// A contestant's containers and settings.
struct Copy {
    env: Vec<(&'static str, String)>,
    audit: String,
    recordings: Vec<(String, String)>,
}

impl Run<'_> {
    /// Settings for a fresh copy in the Azurite of `cs`: its own table prefix and containers.
    fn settings(&self, cs: &str) -> Copy {
        let id = common::run_id();
        let audit = format!("aud-{}", &id[..12]);
        let recordings: Vec<(String, String)> = (0..self.sizes.hosts)
            .map(|h| (format!("rec-{}-{h}", &id[..12]), data::host(h)))
            .collect();
        let mut env = vec![
            ("AzureWebJobsStorage", cs.to_owned()),
            ("TABLE_PREFIX", format!("bf{}", &id[..10])),
            ("AUDITLOGS_SOURCES", format!("AzureWebJobsStorage:{audit}")),
            ("RUST_LOG", "warn".to_owned()),
            // The recordings are uploaded (created) when each contestant runs, up to `--hours` + 3
            // hours after their sessions and later still for the last contestant of a long run;
            // on a deployment each is created when its session ends. The vouching lag covers
            // that, so a named recording vouches for its session on every side alike (past the
            // default 24 hours the handler rightly called it suspect while the bare client, which
            // does not judge, joined it).
            (
                "RECORDING_VOUCH_LAG_HOURS",
                (self.sizes.hours + 6).to_string(),
            ),
        ];
        let list: Vec<String> = recordings
            .iter()
            .map(|(c, h)| format!("AzureWebJobsStorage:{c}@{h}"))
            .collect();
        env.push(("RECORDINGS_SOURCES", list.join(",")));
        Copy {
            env,
            audit,
            recordings,
        }
    }

    /// Uploads the history into the copy's containers (audit logs first, as they would have been
    /// written before the recordings were uploaded at the end of their sessions).
    async fn upload(&self, stores: &Counted, copy: &Copy) {
        let audit: Vec<(String, Bytes, &'static str)> = self
            .history
            .audit
            .iter()
            .map(|(n, b)| (n.clone(), Bytes::from(b.clone()), "application/json"))
            .collect();
        data::upload(stores.0.as_ref(), &copy.audit, &audit).await;
        let body = data::recording_body();
        for ((container, _), names) in copy.recordings.iter().zip(&self.history.recordings) {
            let blobs: Vec<(String, Bytes, &'static str)> = names
                .iter()
                .map(|n| (n.clone(), body.clone(), "application/octet-stream"))
                .collect();
            data::upload(stores.0.as_ref(), container, &blobs).await;
        }
    }

    /// Runs `who` on a fresh copy.
    pub(crate) async fn one(&self, who: &Who) -> Outcome {
        eprintln!("{}: fresh Azurite, uploading the history", who.label());
        let copy = self.settings(&self.azurite.fresh());
        let config = common::config(&copy.env);
        let stores = common::clients(&config);
        self.upload(&stores, &copy).await;
        eprintln!("{}: backfilling", who.label());
        let before = Calls::of(&stores);
        let started = Instant::now();
        let counted = match who {
            Who::Binary(_, bin) => {
                let summary = self.binary(bin, &copy.env).await;
                self.check(who, &summary);
                false
            }
            Who::InProcess => {
                let state = AppState::assemble(
                    config.clone(),
                    config.policy.clone(),
                    bastion_testkit::state::stores(stores.0.clone(), stores.1.clone()),
                    Arc::new(SystemClock),
                );
                let opts = options(&self.args()).expect("backfill flags");
                // One call, as the command makes it: the kinds walked in order, then the one join
                // pass over the range (a call per kind would run a pass per kind).
                let (by, t) = (stores.1.by_table(), Instant::now());
                let s = backfill::run(&state, &opts, &mut Progress::for_stderr(), &mut |_, _| {})
                    .await
                    .expect("backfill::run");
                phase("all", t.elapsed(), Calls::of(&stores) - before.clone());
                per_table(&by, &stores.1.by_table());
                let (catalogued, audit_logs_tailed, errors, failed) =
                    (s.catalogued, s.audit_logs_tailed, s.errors, s.failed);
                let summary = serde_json::json!({
                    "catalogued": catalogued, "audit_logs_tailed": audit_logs_tailed, "errors": errors,
                    "failed": failed,
                });
                self.check(who, &summary);
                true
            }
            Who::Bare => {
                let bare = Bare {
                    blobs: stores.0.as_ref(),
                    tables: stores.1.as_ref(),
                    config: &config,
                    audit: &copy.audit,
                    recordings: copy.recordings.clone(),
                    from: self.from,
                    to: self.to,
                    concurrency: self.concurrency,
                };
                let mut done = Done::default();
                let (calls, by, t) = (Calls::of(&stores), stores.1.by_table(), Instant::now());
                bare.audit_logs(&mut done).await.expect("bare backfill");
                phase("auditlogs", t.elapsed(), Calls::of(&stores) - calls);
                per_table(&by, &stores.1.by_table());
                let (calls, by, t) = (Calls::of(&stores), stores.1.by_table(), Instant::now());
                bare.recordings(&mut done).await.expect("bare backfill");
                phase("recordings", t.elapsed(), Calls::of(&stores) - calls);
                per_table(&by, &stores.1.by_table());
                assert_eq!(
                    done.audit_blobs,
                    self.history.audit.len(),
                    "bare: audit blobs"
                );
                assert_eq!(done.recordings, self.sizes.recordings, "bare: recordings");
                println!(
                    "         bare client: {} of {} sessions found by the tunnel id in the recording's name",
                    done.sessions_found, done.recordings
                );
                true
            }
        };
        let wall = started.elapsed();
        let calls = counted.then(|| Calls::of(&stores) - before);
        let rows = common::rows(stores.1.as_ref(), None).await;
        let index_rows = common::count_rows(stores.1.as_ref(), INDEX_TABLE, None).await;
        let path_rows =
            common::count_rows(stores.1.as_ref(), paths::RECORDING_PATHS_TABLE, None).await;
        let matches = common::rows_by(stores.1.as_ref(), "recordings", "MatchConfidence").await;
        let days = common::rows_by(stores.1.as_ref(), DAYS_TABLE, "Recorded").await;
        // Every generated connected session ends within the range (a failed login has no end):
        // more rows without an end than failed logins is an end lost.
        let open = common::rows_by(stores.1.as_ref(), DAYS_TABLE, "End").await;
        let open = open.get("").copied().unwrap_or(0) + open.get("-").copied().unwrap_or(0);
        let state = format!(
            "catalogue rows {rows} by match {matches:?}, index rows {index_rows}, path rows \
             {path_rows}, session day rows by recorded {days:?}, without an end {open}"
        );
        Outcome {
            wall,
            calls,
            rows,
            index_rows,
            path_rows,
            state,
        }
    }

    fn args(&self) -> BackfillArgs {
        BackfillArgs {
            from: self.from.format(&Rfc3339).expect("time"),
            to: self.to.format(&Rfc3339).expect("time"),
            concurrency: Some(u16::try_from(self.concurrency).expect("--concurrency ≤ 64")),
            ..BackfillArgs::default()
        }
    }

    /// `handler backfill` with exactly `env`; its summary line.
    async fn binary(&self, bin: &str, env: &[(&'static str, String)]) -> serde_json::Value {
        let args = self.args();
        // stdout (one JSON line per output, then the summary) goes to a file, so reading it
        // costs the run nothing.
        let out_path =
            std::env::temp_dir().join(format!("bench-backfill-{}.jsonl", common::run_id()));
        let out = std::fs::File::create(&out_path).expect("stdout file");
        let concurrency = self.concurrency.to_string();
        let status = tokio::process::Command::new(bin)
            .args(["backfill", "--from", &args.from, "--to", &args.to])
            .args(["--concurrency", &concurrency])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(out)
            // Its progress (a line every 10 s off a terminal) goes to the bench's stderr: a
            // full-size run takes minutes, and the figures stay alone on stdout.
            .stderr(std::process::Stdio::inherit())
            .status()
            .await
            .unwrap_or_else(|e| panic!("{bin}: {e}"));
        let text = std::fs::read_to_string(&out_path).expect("stdout");
        let _ = std::fs::remove_file(&out_path);
        let last = text.lines().last().unwrap_or_default();
        assert!(
            status.success(),
            "{bin} backfill: {status}; last line {last}"
        );
        let line: serde_json::Value = serde_json::from_str(last).expect("summary line");
        line["summary"].clone()
    }

    /// The summary must report the whole history done, without errors.
    fn check(&self, who: &Who, summary: &serde_json::Value) {
        let n = |k: &str| summary[k].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(
            (n("catalogued"), n("audit_logs_tailed"), n("errors")),
            (self.sizes.recordings, self.history.audit.len(), 0),
            "{}: {summary}",
            who.label()
        );
    }
}

/// Prints one phase of a counted run.
fn phase(kind: &str, wall: Duration, calls: Calls) {
    println!(
        "         phase {kind:<10} wall {:>7.1} s  calls {} ({})",
        wall.as_secs_f64(),
        calls.total(),
        calls.line()
    );
}

/// The table calls made between two snapshots, per operation and table: where the calls go.
fn per_table(before: &[(&str, String, u64)], after: &[(&'static str, String, u64)]) {
    let made: Vec<String> = after
        .iter()
        .filter_map(|(op, table, n)| {
            let was = before
                .iter()
                .find(|(o, t, _)| o == op && t == table)
                .map_or(0, |b| b.2);
            (*n > was).then(|| format!("{op}:{table}={}", n - was))
        })
        .collect();
    println!("           tables {}", made.join(" "));
}

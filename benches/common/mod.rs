//! What the Azurite benchmarks share: flags, the storage clients a handler would build from the
//! same settings, call counts through the library's counting decorators, bounded-concurrency
//! drivers and medians.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bastion_recordings::config::Config;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Filter, TableStore};
use bastion_testkit::storage::counting::CountingBlobStore;
use bastion_testkit::tables::intercept::CountingTables;
use futures::StreamExt as _;

pub(crate) mod azurite;

/// The value after `name` on the command line.
pub(crate) fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

/// The value after `name` parsed, else `default`; a value that does not parse stops the bench.
pub(crate) fn num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match arg(name) {
        None => default,
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}: not a number: {v}")),
    }
}

/// True when `name` is on the command line.
pub(crate) fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// Other handler builds to measure in the same run (`BENCH_HANDLER_BIN=path[,path]`).
pub(crate) fn other_builds() -> Vec<String> {
    std::env::var("BENCH_HANDLER_BIN")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Configuration from `(name, value)` settings, as the handler reads them.
pub(crate) fn config(env: &[(&str, String)]) -> Config {
    Config::from_lookup(&|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .expect("bench settings are valid")
}

/// The clients `AppState::from_config` builds for the app's own connection (one blob client for
/// the account, which holds every container of the benches, and the table client under the
/// prefix), behind the library's counting decorators: an atomic increment per call, beside
/// round trips of milliseconds.
pub(crate) fn clients(config: &Config) -> Counted {
    let app = &config.storage.app;
    let blobs = AzureBlobStore::new(app).expect("blob client");
    let tables = TableRestClient::new(app, &config.table_prefix).expect("table client");
    (
        Arc::new(CountingBlobStore::new(blobs)),
        Arc::new(CountingTables::new(tables)),
    )
}

/// Counted clients.
pub(crate) type Counted = (
    Arc<CountingBlobStore<AzureBlobStore>>,
    Arc<CountingTables<TableRestClient>>,
);

/// Storage calls per operation, blob and table (`blob.put`, `table.get`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Calls(BTreeMap<String, u64>);

impl Calls {
    /// The counts so far.
    pub(crate) fn of(c: &Counted) -> Self {
        let mut all = BTreeMap::new();
        let blob =
            c.0.by_table()
                .into_iter()
                .map(|(op, _, n)| ("blob.", op, n));
        let table =
            c.1.by_table()
                .into_iter()
                .map(|(op, _, n)| ("table.", op, n));
        for (port, op, n) in blob.chain(table) {
            *all.entry([port, op].concat()).or_default() += n;
        }
        Self(all)
    }

    /// All calls.
    pub(crate) fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// `operation=count` for every operation made at least once.
    pub(crate) fn line(&self) -> String {
        self.0
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(op, n)| format!("{op}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl std::ops::Sub for Calls {
    type Output = Calls;

    fn sub(mut self, o: Calls) -> Calls {
        for (op, n) in o.0 {
            let left = self.0.entry(op).or_default();
            *left = left.saturating_sub(n);
        }
        self
    }
}

/// Runs `work(i)` for `0..n`, at most `concurrency` at once; each item's latency and success, and
/// the elapsed time.
pub(crate) async fn drive<F, Fut>(n: usize, concurrency: usize, work: F) -> Timed
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    let results: Vec<(Duration, bool)> = futures::stream::iter(0..n)
        .map(|i| {
            let fut = work(i);
            async move {
                let t = Instant::now();
                let ok = fut.await;
                (t.elapsed(), ok)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    Timed {
        elapsed: started.elapsed(),
        failed: results.iter().filter(|(_, ok)| !ok).count(),
        latencies: results.into_iter().map(|(d, _)| d).collect(),
    }
}

/// What [`drive`] measured.
pub(crate) struct Timed {
    pub(crate) elapsed: Duration,
    pub(crate) failed: usize,
    pub(crate) latencies: Vec<Duration>,
}

impl Timed {
    /// Items per second.
    pub(crate) fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile of the latencies.
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        let i = ((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1));
        l.get(i).copied().unwrap_or_default()
    }
}

/// The median of `v` (the mean of the middle two for an even count); 0 for none.
pub(crate) fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Milliseconds, for printing.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CPU time (user + system, every thread) process `pid` has used so far, from `/proc/<pid>/stat`;
/// `None` where that cannot be read (not Linux, process gone).
pub(crate) fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3: utime is 14, stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ, the unit of these fields, is 100 on every Linux ABI the benches run on.
    Some(Duration::from_millis(ticks * 10))
}

/// CPU used per item by each process of a run, sampled around it.
#[derive(Clone, Copy, Default)]
pub(crate) struct CpuPerItem {
    pub(crate) handler: Option<Duration>,
    pub(crate) azurite: Option<Duration>,
    pub(crate) bench: Option<Duration>,
}

/// Samples the CPU time of the handler, Azurite and this bench process before a run.
pub(crate) struct CpuSample([Option<Duration>; 3], [Option<u32>; 3]);

impl CpuSample {
    pub(crate) fn start(handler: Option<u32>, azurite: Option<u32>) -> Self {
        let pids = [handler, azurite, Some(std::process::id())];
        Self(pids.map(|p| p.and_then(cpu_time)), pids)
    }

    /// What each process used since [`start`](Self::start), per item of `n`.
    pub(crate) fn per_item(&self, n: usize) -> CpuPerItem {
        let used = |i: usize| {
            let now = self.1[i].and_then(cpu_time)?;
            Some(now.checked_sub(self.0[i]?)? / n.max(1) as u32)
        };
        CpuPerItem {
            handler: used(0),
            azurite: used(1),
            bench: used(2),
        }
    }
}

impl CpuPerItem {
    /// `handler 0.42 ms  azurite 3.10 ms  bench 0.20 ms` (a process not sampled is left out).
    pub(crate) fn line(&self) -> String {
        [
            ("handler", self.handler),
            ("azurite", self.azurite),
            ("bench", self.bench),
        ]
        .iter()
        .filter_map(|(n, d)| d.map(|d| format!("{n} {:.2} ms", ms(d))))
        .collect::<Vec<_>>()
        .join("  ")
    }
}

/// A fresh lower-case id for the run's containers and table prefix.
pub(crate) fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Rows of the catalogue table (matching `filter`), every page.
pub(crate) async fn rows(tables: &dyn TableStore, filter: Option<&Filter>) -> usize {
    count_rows(tables, "recordings", filter).await
}

/// Rows of `table` per value of its property `field` (absent: `-`), page by page.
pub(crate) async fn rows_by(
    tables: &dyn TableStore,
    table: &str,
    field: &str,
) -> std::collections::BTreeMap<String, usize> {
    let (mut by, mut next) = (std::collections::BTreeMap::new(), None);
    loop {
        let page = match tables.query(table, None, Some(1000), next).await {
            Err(bastion_recordings::azure::AzureError::NotFound) => return by,
            page => page.expect("rows by a field"),
        };
        for s in &page.items {
            let v = s.entity.get(field).map_or_else(
                || "-".to_owned(),
                |v| match v {
                    serde_json::Value::String(t) => t.clone(),
                    other => other.to_string(),
                },
            );
            *by.entry(v).or_default() += 1;
        }
        next = page.next;
        if next.is_none() {
            return by;
        }
    }
}

/// Rows of `table` (matching `filter`), page by page.
pub(crate) async fn count_rows(
    tables: &dyn TableStore,
    table: &str,
    filter: Option<&Filter>,
) -> usize {
    let (mut count, mut next) = (0, None);
    loop {
        let page = match tables.query(table, filter, Some(1000), next).await {
            // A table nobody wrote to holds no rows.
            Err(bastion_recordings::azure::AzureError::NotFound) => return count,
            page => page.expect("count rows"),
        };
        count += page.items.len();
        next = page.next;
        if next.is_none() {
            return count;
        }
    }
}

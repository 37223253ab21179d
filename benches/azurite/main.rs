//! What users pay for: RecordingCreated on Azurite, the real `handler` process beside a bare client
//! making the same storage calls in the same run (the storage is the limit; the handler's overhead
//! over it is the figure).
//!
//! First, [`bare::check`] proves the bare client makes the handler's calls for a new recording
//! (counted through the library's counting decorators on the handler's own code path, asserted
//! equal per operation) and takes the handler's catalogue row as the template of its own, so both
//! send Azurite the same work. Then, per concurrency level (`--concurrency 16,64`): every
//! contestant (this build's handler, each `BENCH_HANDLER_BIN` build, the bare client) gets a
//! freshly started, empty Azurite of its own ([`common::azurite`]: the emulator slows as it fills,
//! so a shared one would favour whoever ran first) and a handler process started for the level;
//! each catalogues `--warmup N` (50) recordings, not measured; then `--recordings N` (2,000)
//! freshly uploaded blobs in `--slices S` (10) slices, `concurrency` in flight: the handlers as
//! Event Grid invocations over HTTP, the bare client directly. The contestants take turns slice by
//! slice (who goes first rotates), so a change in the shared machine's speed, which moved whole
//! runs by tens of percent, falls on every contestant alike; each instance fills at the same pace.
//! After each slice every announced recording must have its catalogue row and every catalogue row
//! its `recordingpaths` row (the same state whoever wrote it); the bare client's calls must be the
//! checked calls (counted in steady state, after a first recording) times the slice. Per slice, the CPU time each process used per
//! recording (handler, Azurite, this bench) is sampled from `/proc`. Prints each slice's rates,
//! then per contestant the totals and each handler's rate over the bare client's (goal ≥ 0.9).
//!
//! Usage: `scripts/bench-azurite.sh [-- --recordings N --slices S --concurrency 16,64 --warmup N]
//! [--shared-azurite]`. `BENCH_HANDLER_BIN=path[,path]` adds other handler builds to the same run
//! (before/after a change); they must read the same settings (`AzureWebJobsStorage`,
//! `TABLE_PREFIX`, `RECORDINGS_SOURCES`).

#[path = "../common/mod.rs"]
#[allow(
    dead_code,
    reason = "shared with the backfill bench, which uses the rest"
)]
mod common;

mod bare;
mod handler;
mod report;

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::filter::Op;
use bastion_recordings::tables::{Filter, TableStore};
use bytes::Bytes;

use common::azurite::Azurite;
use common::{Calls, Counted, CpuPerItem, CpuSample, Timed, drive, num};
use handler::{Handler, invocation};

/// A contestant: a handler build (label, binary), or the bare client.
enum Who {
    Handler(String, String),
    Bare,
}

impl Who {
    fn label(&self) -> &str {
        match self {
            Self::Handler(label, _) => label,
            Self::Bare => "bare client (same calls)",
        }
    }
}

async fn upload(blobs: &dyn BlobStore, container: &str, names: &[String]) {
    let run = drive(names.len(), 32, |i| {
        let blob = BlobRef::new(container, names[i].clone());
        async move {
            let body = Bytes::from_static(b"recording bytes");
            blobs
                .put(&blob, body, "application/octet-stream", &Metadata::new())
                .await
                .is_ok()
        }
    })
    .await;
    assert_eq!(run.failed, 0, "uploads failed");
}

/// Catalogue rows whose blob name starts with `prefix`.
async fn rows_under(tables: &dyn TableStore, prefix: &str) -> usize {
    let f = Filter::And(vec![
        Filter::str("BlobName", Op::Ge, prefix),
        Filter::str("BlobName", Op::Lt, format!("{prefix}~")),
    ]);
    common::rows(tables, Some(&f)).await
}

/// What one round gives each contestant.
struct Setup<'a> {
    stores: &'a Counted,
    config: &'a bastion_recordings::config::Config,
    account: &'a str,
    container: &'a str,
    per_item: Calls,
    /// The handler's catalogue row for the check recording: the bare client writes its properties.
    template: &'a bastion_recordings::tables::Entity,
}

/// One contestant's run over `n` fresh blobs named under `prefix`, `c` in flight: through the
/// handler process `h`, or (`None`) the bare client; with the CPU each process used per recording
/// (Azurite's process is `azurite`).
async fn run(
    h: Option<&Handler>,
    s: &Setup<'_>,
    azurite: Option<u32>,
    prefix: &str,
    n: usize,
    c: usize,
) -> (Timed, CpuPerItem) {
    let (blobs, tables) = s.stores;
    let names: Vec<String> = (0..n)
        .map(|i| format!("{prefix}/vm-{:02}/{i}.mp4", i % 16))
        .collect();
    upload(blobs.as_ref(), s.container, &names).await;
    let cpu = CpuSample::start(h.and_then(Handler::pid), azurite);
    let timed = match h {
        Some(h) => {
            let (url, client) = (&h.url, &h.client);
            drive(n, c, |i| {
                let body = invocation(s.account, s.container, &names[i], i);
                let req = client.post(url).json(&body).send();
                async move { req.await.is_ok_and(|r| r.status().is_success()) }
            })
            .await
        }
        None => {
            let before = Calls::of(s.stores);
            let join = bare::JoinQuery::new(s.config);
            let timed = drive(n, c, |i| {
                let (blobs, tables) = (blobs.clone(), tables.clone());
                let name = names[i].clone();
                async move {
                    bare::bare(
                        blobs.as_ref(),
                        tables.as_ref(),
                        &s.config.policy,
                        &join,
                        s.template,
                        (s.container, &name),
                    )
                    .await
                }
            })
            .await;
            let made = (Calls::of(s.stores) - before).total();
            let want = s.per_item.total() * n as u64;
            assert_eq!(made, want, "the bare client made {made} calls, not {want}");
            timed
        }
    };
    let cpu = cpu.per_item(n);
    let catalogued = rows_under(tables.as_ref(), &format!("{prefix}/")).await;
    let who = h.map_or("bare client", |h| &h.label);
    assert_eq!(
        catalogued, n,
        "{who}: {catalogued} of {n} recordings catalogued"
    );
    // The same state: one path index row per catalogue row, whoever wrote them.
    let (all, paths) = (
        common::rows(tables.as_ref(), None).await,
        common::count_rows(tables.as_ref(), bare::PATHS, None).await,
    );
    assert_eq!(
        paths, all,
        "{who}: {paths} path index rows for {all} catalogue rows"
    );
    (timed, cpu)
}

/// A contestant's settings on the instance of `cs`.
fn settings(cs: &str, prefix: &str, container: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AzureWebJobsStorage", cs.to_owned()),
        ("TABLE_PREFIX", prefix.to_owned()),
        (
            "RECORDINGS_SOURCES",
            format!("AzureWebJobsStorage:{container}"),
        ),
        ("RUST_LOG", "warn".into()),
    ]
}

/// Clients and checked calls on the instance of `cs`, its tables and container made.
async fn setup(
    cs: &str,
    prefix: &str,
    container: &str,
) -> (Counted, bastion_recordings::config::Config, String) {
    let config = common::config(&settings(cs, prefix, container));
    let stores = common::clients(&config);
    for t in ["recordings", "sessionwindows", bare::PATHS] {
        stores.1.ensure_table(t).await.expect("table");
    }
    let account = stores.0.account().to_owned();
    (stores, config, account)
}

#[tokio::main]
async fn main() {
    let Some(azurite) = Azurite::from_args() else {
        return;
    };
    let n: usize = num("--recordings", 2000);
    let slices: usize = num("--slices", 10).max(1);
    let warmup: usize = num("--warmup", 50);
    let levels: Vec<usize> = common::arg("--concurrency")
        .unwrap_or_else(|| "16,64".into())
        .split(',')
        .map(|c| c.trim().parse().expect("--concurrency: numbers"))
        .collect();
    let run_id = common::run_id();
    let (prefix, container) = (
        format!("b{}", &run_id[..10]),
        format!("bench-{}", &run_id[..12]),
    );
    let cs = azurite.fresh();
    let (stores, config, account) = setup(&cs, &prefix, &container).await;
    println!(
        "RecordingCreated on Azurite (account {account}): per concurrency level and contestant, a \
         freshly started Azurite of its own and {warmup} recordings not measured, then {n} new \
         recordings in {slices} slices, the contestants taking turns slice by slice (rotating who \
         goes first)"
    );
    let (per_item, template) = bare::check(
        &config,
        &stores,
        &container,
        async |name: &str| upload(stores.0.as_ref(), &container, &[name.to_owned()]).await,
        |name| invocation(&account, &container, name, 0),
    )
    .await;
    let mut who = vec![Who::Handler(
        "this build".to_owned(),
        env!("CARGO_BIN_EXE_handler").to_owned(),
    )];
    who.extend(
        common::other_builds()
            .into_iter()
            .map(|b| Who::Handler(format!("BENCH_HANDLER_BIN {b}"), b)),
    );
    who.push(Who::Bare);
    let columns: Vec<&str> = who.iter().map(Who::label).collect();
    println!("slice columns: {}", columns.join(" | "));
    drop(azurite);
    for &c in &levels {
        let mut ready = Vec::new();
        for (k, w) in who.iter().enumerate() {
            let Some(azurite) = Azurite::from_args_in(&format!(".azurite-bench-{k}")) else {
                return;
            };
            let cs = azurite.fresh();
            let (stores, config, account) = setup(&cs, &prefix, &container).await;
            let h = match w {
                Who::Handler(label, bin) => Some(
                    Handler::start(label.clone(), bin, &settings(&cs, &prefix, &container)).await,
                ),
                Who::Bare => None,
            };
            ready.push((azurite, stores, config, account, h));
        }
        let mut results: Vec<Vec<(Timed, CpuPerItem)>> = who.iter().map(|_| Vec::new()).collect();
        for slice in 0..=slices {
            let mut line = Vec::new();
            for j in 0..who.len() {
                let k = (j + slice) % who.len();
                let (azurite, stores, config, account, h) = &ready[k];
                let s = Setup {
                    stores,
                    config,
                    account,
                    container: &container,
                    per_item: per_item.clone(),
                    template: &template,
                };
                // Slice 0 is the warm-up: first connections, Azurite's first tables and pages.
                let (size, name) = match slice {
                    0 => (warmup, format!("w{c}k{k}")),
                    _ => (n / slices, format!("s{slice}c{c}k{k}")),
                };
                let r = run(h.as_ref(), &s, azurite.pid(), &name, size, c).await;
                if slice > 0 {
                    line.push((k, r.0.rate()));
                    results[k].push(r);
                }
            }
            if slice > 0 {
                line.sort_by_key(|(k, _)| *k);
                let rates: Vec<String> = line.iter().map(|(_, r)| format!("{r:>7.1}/s")).collect();
                println!("c={c:<3} slice {slice:>2}/{slices}  {}", rates.join("  "));
            }
        }
        report::print(c, &who, &results);
    }
}

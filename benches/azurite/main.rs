//! What users pay for: RecordingCreated on Azurite, the real `handler` process beside a bare client
//! making the same storage calls in the same run (the storage is the limit; the handler's overhead
//! over it is the figure).
//!
//! First, [`bare::check`] proves the bare client makes the handler's calls for a new recording
//! (counted through the library's counting decorators on the handler's own code path, asserted
//! equal per operation). Then, per concurrency level (`--concurrency 16,64`), `--rounds` rounds: in
//! each, every contestant (this build's handler, each `BENCH_HANDLER_BIN` build, the bare client)
//! gets a freshly started, empty Azurite ([`common::azurite`]: the emulator slows as it fills, so
//! one instance for every run would favour whoever ran first) and `--recordings N` freshly uploaded
//! blobs, `concurrency` in flight: the handlers as Event Grid invocations over HTTP to a handler
//! process started for the run, the bare client directly. Before each measured run the contestant
//! catalogues `--warmup N` (50) recordings on the same instance, not measured: first connections,
//! Azurite's first tables and pages. The order rotates by one each round. After each handler run
//! every announced recording must have its catalogue row; the bare client's calls must be the
//! checked calls times `N`. Prints each run, then medians over the rounds and the ratio of the
//! median rates (goal: the handler ≥ 0.9× the bare client).
//!
//! Usage: `scripts/bench-azurite.sh [-- --recordings N --concurrency 16,64 --rounds 3 --warmup N]
//! [--shared-azurite]`. `BENCH_HANDLER_BIN=path[,path]` adds other handler builds to the same run
//! (before/after a change); they must read the single-source settings (`AzureWebJobsStorage`,
//! `TABLE_PREFIX`, `RECORDINGS_CONTAINER`).

#[path = "../common/mod.rs"]
#[allow(
    dead_code,
    reason = "shared with the backfill bench, which uses the rest"
)]
mod common;

mod bare;
mod handler;

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::filter::Op;
use bastion_recordings::tables::{Filter, TableStore};
use bytes::Bytes;

use common::azurite::Azurite;
use common::{Calls, Counted, CpuPerItem, CpuSample, Timed, drive, median, ms, num};
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
            let days = bare::join_days(s.config);
            let timed = drive(n, c, |i| {
                let (blobs, tables) = (blobs.clone(), tables.clone());
                let name = names[i].clone();
                async move {
                    bare::bare(
                        blobs.as_ref(),
                        tables.as_ref(),
                        &s.config.policy,
                        days,
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
    assert_eq!(
        catalogued,
        n,
        "{}: {catalogued} of {n} recordings catalogued",
        h.map_or("bare client", |h| &h.label)
    );
    (timed, cpu)
}

/// A contestant's settings on the instance of `cs`.
fn settings(cs: &str, prefix: &str, container: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AzureWebJobsStorage", cs.to_owned()),
        ("TABLE_PREFIX", prefix.to_owned()),
        ("RECORDINGS_CONTAINER", container.to_owned()),
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
    for t in ["recordings", "sessionwindows"] {
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
    let n: usize = num("--recordings", 1000);
    let rounds: usize = num("--rounds", 3);
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
        "RecordingCreated on Azurite (account {account}): {n} new recordings per run after {warmup} \
         not measured, {rounds} round(s) per concurrency level, contestants in rotating order, each \
         run on a freshly started Azurite"
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
    for &c in &levels {
        let mut results: Vec<Vec<(Timed, CpuPerItem)>> = who.iter().map(|_| Vec::new()).collect();
        for r in 0..rounds {
            for j in 0..who.len() {
                let k = (j + r) % who.len();
                let cs = azurite.fresh();
                let (stores, config, account) = setup(&cs, &prefix, &container).await;
                let s = Setup {
                    stores: &stores,
                    config: &config,
                    account: &account,
                    container: &container,
                    per_item,
                    template: &template,
                };
                let h = match &who[k] {
                    Who::Handler(label, bin) => Some(
                        Handler::start(label.clone(), bin, &settings(&cs, &prefix, &container))
                            .await,
                    ),
                    Who::Bare => None,
                };
                let pid = azurite.pid();
                run(h.as_ref(), &s, pid, &format!("w{r}c{c}k{k}"), warmup, c).await;
                let (t, cpu) = run(h.as_ref(), &s, pid, &format!("r{r}c{c}k{k}"), n, c).await;
                println!(
                    "c={c:<3} round {}  {:<48} {:>7.1}/s  p50 {:>7.1} ms  p99 {:>7.1} ms  cpu/rec {}{}",
                    r + 1,
                    who[k].label(),
                    t.rate(),
                    ms(t.quantile(0.5)),
                    ms(t.quantile(0.99)),
                    cpu.line(),
                    if t.failed > 0 {
                        format!("  ({} failed)", t.failed)
                    } else {
                        String::new()
                    }
                );
                results[k].push((t, cpu));
            }
        }
        report(c, &who, &results);
    }
}

/// Medians over the rounds, and each handler's median rate over the bare client's.
fn report(c: usize, who: &[Who], results: &[Vec<(Timed, CpuPerItem)>]) {
    let med = |k: usize, f: &dyn Fn(&Timed) -> f64| {
        median(&results[k].iter().map(|(t, _)| f(t)).collect::<Vec<_>>())
    };
    let med_cpu = |k: usize, f: &dyn Fn(&CpuPerItem) -> Option<std::time::Duration>| {
        let v: Vec<f64> = results[k]
            .iter()
            .filter_map(|(_, c)| f(c).map(ms))
            .collect();
        (!v.is_empty()).then(|| std::time::Duration::from_secs_f64(median(&v) / 1e3))
    };
    let bare = who.len() - 1;
    let bare_rate = med(bare, &|t| t.rate());
    for (k, w) in who.iter().enumerate() {
        let cpu = CpuPerItem {
            handler: med_cpu(k, &|c| c.handler),
            azurite: med_cpu(k, &|c| c.azurite),
            bench: med_cpu(k, &|c| c.bench),
        };
        println!(
            "c={c:<3} MEDIAN   {:<48} {:>7.1}/s  p50 {:>7.1} ms  p99 {:>7.1} ms  cpu/rec {}",
            w.label(),
            med(k, &|t| t.rate()),
            med(k, &|t| ms(t.quantile(0.5))),
            med(k, &|t| ms(t.quantile(0.99))),
            cpu.line(),
        );
    }
    for (k, w) in who.iter().enumerate().take(bare) {
        let per_round: Vec<String> = results[k]
            .iter()
            .zip(&results[bare])
            .map(|((h, _), (b, _))| format!("{:.2}", h.rate() / b.rate()))
            .collect();
        println!(
            "c={c:<3} RATIO    {:<48} {:.2} of the bare client's rate (per round: {}; goal ≥ 0.90)",
            w.label(),
            med(k, &|t| t.rate()) / bare_rate,
            per_round.join(", ")
        );
    }
}

//! What users pay for: RecordingCreated on Azurite, the real `handler` process beside a bare client
//! making the same storage calls in the same run (the storage is the limit; the handler's overhead
//! over it is the figure).
//!
//! Per concurrency level (`--concurrency 16,64`) and handler binary, `--recordings N` new blobs are
//! uploaded and announced to the handler as Event Grid invocations, `N` in flight at most
//! `concurrency`; then `N` other blobs go through the bare client: the six calls the handler makes
//! for a new recording without tunnel id (properties, catalogue row read, tag write, row insert,
//! and the join's two `sessionwindows` day queries; counted in `tests/e2e/recordings/calls.rs`),
//! through the same storage clients. Prints catalogued/s, p50 and p99 per side and their ratio.
//!
//! Usage: `scripts/bench-azurite.sh [-- --recordings N --concurrency 16,64]` (starts Azurite, sets
//! `AZURITE_CONNECTION_STRING`). `BENCH_HANDLER_BIN=path[,path]` measures other handler builds too,
//! in the same run (before/after a change).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bastion_recordings::config::{Config, Storage};
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata, Tags};
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Entity, Filter, TableStore, WriteMode};
use bytes::Bytes;
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

struct Run {
    rate: f64,
    p50: Duration,
    p99: Duration,
    failed: usize,
}

impl Run {
    fn of(mut latencies: Vec<Duration>, elapsed: Duration, failed: usize) -> Self {
        latencies.sort();
        let at = |q: f64| {
            let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
            latencies.get(i).copied().unwrap_or_default()
        };
        Self {
            rate: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50: at(0.50),
            p99: at(0.99),
            failed,
        }
    }

    fn line(&self) -> String {
        format!(
            "{:>8.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms{}",
            self.rate,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            if self.failed > 0 {
                format!("  ({} failed)", self.failed)
            } else {
                String::new()
            }
        )
    }
}

/// Runs `work(i)` for `0..n`, at most `concurrency` at once; latency per item.
async fn drive<F, Fut>(n: usize, concurrency: usize, work: F) -> Run
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
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let failed = results.iter().filter(|(_, ok)| !ok).count();
    Run::of(
        results.into_iter().map(|(d, _)| d).collect(),
        elapsed,
        failed,
    )
}

fn invocation(account: &str, container: &str, name: &str, i: usize) -> Value {
    // Path-style, as Azurite's own events would name the blob.
    let url = format!("http://127.0.0.1:10000/{account}/{container}/{name}");
    let data = json!({
        "api": "PutBlockList", "contentType": "application/octet-stream", "contentLength": 15,
        "blobType": "BlockBlob", "url": url, "sequencer": format!("{i:032X}"), "eTag": "0x1",
    });
    json!({
        "Data": {"eventGridEvent": {
            "topic": format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{account}"),
            "subject": format!("/blobServices/default/containers/{container}/blobs/{name}"),
            "eventType": "Microsoft.Storage.BlobCreated", "eventTime": "2025-03-14T09:42:17Z",
            "id": format!("bench-{i}-{}", uuid::Uuid::new_v4()), "data": data,
            "dataVersion": "", "metadataVersion": "1"}},
        "Metadata": {"sys": {"MethodName": "RecordingCreated", "UtcNow": "2025-03-14T09:45:00Z",
            "RandGuid": uuid::Uuid::new_v4().to_string()}}
    })
}

async fn spawn(bin: &str, env: &[(&str, String)]) -> (Child, String) {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", "0")
        .env("FUNCTIONS_WORKER_RUNTIME", "Custom")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn handler");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next_line().await.ok().flatten().unwrap_or_default();
    let addr = first
        .strip_prefix("listening addr=")
        .unwrap_or_else(|| panic!("handler did not start: {first}"))
        .to_owned();
    // Drained as the Functions host does; a full pipe would stall the handler.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

async fn upload(blobs: &AzureBlobStore, container: &str, names: &[String]) {
    let run = drive(names.len(), 32, |i| {
        let blob = BlobRef::new(container, names[i].clone());
        async move {
            let body = Bytes::from_static(b"recording bytes");
            let meta = Metadata::new();
            blobs
                .put(&blob, body, "application/octet-stream", &meta)
                .await
                .is_ok()
        }
    })
    .await;
    assert_eq!(run.failed, 0, "uploads failed");
}

/// The calls the handler makes for one new recording, made directly.
async fn bare(
    blobs: &AzureBlobStore,
    tables: &TableRestClient,
    container: &str,
    name: &str,
) -> bool {
    let blob = BlobRef::new(container, name);
    let Ok(props) = blobs.properties(&blob).await else {
        return false;
    };
    let (pk, rk) = ("2025-03-14", name.replace('/', "~"));
    if tables.get("recordings", pk, &rk).await.is_err() {
        return false;
    }
    let tags = Tags::from([("retentionClass".to_owned(), "standard".to_owned())]);
    if blobs.set_tags(&blob, &tags, None).await.is_err() {
        return false;
    }
    let mut row = Entity::new();
    row.insert("PartitionKey".into(), json!(pk));
    row.insert("RowKey".into(), json!(rk));
    row.insert("BlobName".into(), json!(name));
    row.insert("ContentLength".into(), json!(props.content_length));
    if tables
        .write("recordings", &row, WriteMode::Insert)
        .await
        .is_err()
    {
        return false;
    }
    for day in ["2025-03-13", "2025-03-14"] {
        let f = Filter::partition(day);
        if tables
            .query("sessionwindows", Some(&f), None, None)
            .await
            .is_err()
        {
            return false;
        }
    }
    true
}

#[tokio::main]
async fn main() {
    let Ok(cs) = std::env::var("AZURITE_CONNECTION_STRING") else {
        eprintln!("AZURITE_CONNECTION_STRING is not set: run scripts/bench-azurite.sh");
        return;
    };
    let n: usize = arg("--recordings")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let levels: Vec<usize> = arg("--concurrency")
        .unwrap_or_else(|| "16,64".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let mut bins = vec![env!("CARGO_BIN_EXE_handler").to_owned()];
    if let Ok(more) = std::env::var("BENCH_HANDLER_BIN") {
        bins.extend(more.split(',').map(str::to_owned));
    }
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let (prefix, container) = (
        format!("b{}", &run_id[..10]),
        format!("bench-{}", &run_id[..12]),
    );
    let env: Vec<(&str, String)> = vec![
        ("AzureWebJobsStorage", cs.clone()),
        ("TABLE_PREFIX", prefix.clone()),
        ("RECORDINGS_CONTAINER", container.clone()),
        ("RUST_LOG", "warn".into()),
    ];
    let config =
        Config::from_lookup(&|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .expect("config");
    let Storage::Connected { app, .. } = &config.storage else {
        unreachable!("a connection")
    };
    let blobs = Arc::new(AzureBlobStore::new(app).expect("blob client"));
    let tables = Arc::new(TableRestClient::new(app, &prefix).expect("table client"));
    for t in ["recordings", "sessionwindows"] {
        tables.ensure_table(t).await.expect("table");
    }
    let account = blobs.account().to_owned();
    println!("RecordingCreated on Azurite: {n} new recordings per round, account {account}");
    for &c in &levels {
        let mut handlers = Vec::new();
        for (b, bin) in bins.iter().enumerate() {
            let names: Vec<String> = (0..n)
                .map(|i| format!("h{b}c{c}/vm-{:02}/{i}.mp4", i % 16))
                .collect();
            upload(&blobs, &container, &names).await;
            let before = rows(&tables).await;
            let (_child, addr) = spawn(bin, &env).await;
            let client = reqwest::Client::new();
            let url = format!("http://{addr}/RecordingCreated");
            let handler = drive(n, c, |i| {
                let body = invocation(&account, &container, &names[i], i);
                let req = client.post(&url).json(&body).send();
                async move { req.await.is_ok_and(|r| r.status().is_success()) }
            })
            .await;
            let added = rows(&tables).await - before;
            assert_eq!(added, n, "{bin} catalogued {added} of {n} recordings");
            let label = if b == 0 {
                "this build".to_owned()
            } else {
                format!("BENCH_HANDLER_BIN #{b}")
            };
            println!("c={c:<3} handler {label:<40} {}", handler.line());
            handlers.push((label, handler.rate));
        }
        let names: Vec<String> = (0..n)
            .map(|i| format!("bare-c{c}/vm-{:02}/{i}.mp4", i % 16))
            .collect();
        upload(&blobs, &container, &names).await;
        let bare_run = drive(n, c, |i| {
            let (blobs, tables, container, name) = (
                blobs.clone(),
                tables.clone(),
                container.clone(),
                names[i].clone(),
            );
            async move { bare(&blobs, &tables, &container, &name).await }
        })
        .await;
        println!(
            "c={c:<3} bare client (same six calls)                  {}",
            bare_run.line()
        );
        for (bin, rate) in handlers {
            println!(
                "c={c:<3} ratio {bin}: {:.2} of the bare client's rate",
                rate / bare_run.rate
            );
        }
    }
}

/// Rows in the catalogue: each handler round must add one per recording, or it measured skips.
async fn rows(tables: &TableRestClient) -> usize {
    let (mut count, mut next) = (0, None);
    loop {
        let page = tables
            .query("recordings", None, Some(1000), next)
            .await
            .expect("count rows");
        count += page.items.len();
        next = page.next;
        if next.is_none() {
            return count;
        }
    }
}

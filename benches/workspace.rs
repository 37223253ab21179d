//! Workspace-source benchmark (run by `scripts/bench-workspace.sh`, not a timed test), on the
//! project's loopback fake of the Logs Query API served over HTTP by a child process of this
//! binary (so its own memory is not counted here):
//! - `workspace rate [rows] [repeats]`: a workspace hour of `rows` records stored by
//!   `AuditLogQuery`'s own tick (in-memory tables), beside a bare client issuing the same queries
//!   (the same KQL and timespans, recorded from the tick; each answer read whole, parsed as JSON
//!   and every row upserted as one entity per tunnel into the same kind of in-memory table, with
//!   no fold, join or detection); rows/s of both, their ratio, queries per 10,000 rows, the
//!   ticks it took and the table calls per row of both (the in-memory store's own count).
//! - `workspace calls [rows]`: the tick's table calls per row by operation and table (counted by
//!   the counting decorator), beside the bare client's.
//! - `workspace rss [megabytes]`: one page whose answer is that large, streamed; peak RSS (`VmHWM`).
//! - `workspace quiet [ticks]`: an empty workspace; queries per tick.
//! - `workspace azurite [rows] [repeats]`: `rate` with the tables on a fresh, empty Azurite for
//!   each contestant (the bench's own instance, `.azurite-bench-ws`), contestants alternating:
//!   what a deployment pays for, where each table call is a round trip, not a map insert.
//! - `workspace serve <rows> <pad>` (internal): the fake, its URL on stdout.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
#[allow(
    dead_code,
    reason = "shared with the other Azurite benches, which use the rest"
)]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use bastion_recordings::audit_logs::query::{self, Query, QuerySettings, Workspace};
use bastion_recordings::azure::AzureError;
use bastion_recordings::azure::http::{Auth, Client};
use bastion_recordings::azure::{self, Timeouts};
use bastion_recordings::catalogue::policy::Policy;
use bastion_recordings::clock::SystemClock;
use bastion_recordings::loganalytics::{Answer, LogsClient, LogsQuery};
use bastion_recordings::state::AppState;
use bastion_recordings::tables::ops::write_creating_table;
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Entity, TableStore, WriteMode};
use bastion_testkit::loganalytics::{FakeLogs, FakeRow, serve};
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::intercept::CountingTables;
use bastion_testkit::tables::memory::InMemoryTables;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const WS: &str = "b0b0b0b0-0000-4000-8000-0000000000be";
/// Distinct sessions the rows belong to (a busy estate's hour).
const TUNNELS: usize = 2_000;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let num = |i: usize, d: usize| args.get(i).map_or(d, |n| n.parse().expect("a number"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    match args.first().map(String::as_str) {
        Some("serve") => rt.block_on(serve_fake(num(1, 0), num(2, 0))),
        Some("rate") => rt.block_on(rate(num(1, 20_000), num(2, 5))),
        Some("rss") => rt.block_on(rss(num(1, 64))),
        Some("quiet") => rt.block_on(quiet(num(1, 5))),
        Some("calls") => rt.block_on(calls(num(1, 20_000))),
        Some("azurite") => rt.block_on(on_azurite(num(1, 20_000), num(2, 3))),
        _ => eprintln!(
            "usage: workspace rate [rows] [repeats] | calls [rows] | rss [megabytes] | quiet [ticks] | azurite [rows] [repeats]"
        ),
    }
}

/// Row `i` (of session `i % TUNNELS`), ingested at `ingested`; `pad` bytes more in its user agent
/// column's neighbour (`UserEmail`), to size an answer.
fn row(i: usize, ingested: OffsetDateTime, pad: usize) -> FakeRow {
    let at = bastion_recordings::dates::format_utc_millis(ingested - Duration::minutes(1));
    let t = i % TUNNELS;
    let values = json!({
        "TimeGenerated": at, "_ResourceId": "/subscriptions/s/resourcegroups/rg-hub/providers/microsoft.network/bastionhosts/bas-bench",
        "OperationName": "Microsoft.Network/BastionHost/connect", "Message": "Successfully Connected.",
        "UserName": format!("user{}", t % 500), "UserEmail": format!("user{}@{}contoso.com", t % 500, "x".repeat(pad)),
        "ClientIpAddress": format!("203.0.113.{}", t % 250), "ClientPort": 50_000 + (i % 10_000), "Protocol": "ssh",
        "TargetResourceId": format!("/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-{:03}", t % 300),
        "TargetVMIPAddress": "10.0.0.4", "ResourceType": "VM", "TunnelId": format!("{t:08x}-0000-4000-8000-00000000be00"),
        "SessionStartTime": at, "SessionEndTime": "", "Duration": null,
    });
    FakeRow {
        ingested,
        visible_from: OffsetDateTime::UNIX_EPOCH,
        values: values.as_object().cloned().unwrap_or_default(),
    }
}

/// The fake with `rows` rows ingested over the hour before five minutes ago.
async fn serve_fake(rows: usize, pad: usize) {
    let fake = FakeLogs::default();
    fake.workspace(WS);
    let start = OffsetDateTime::now_utc() - Duration::minutes(65);
    let step = Duration::HOUR / u32::try_from(rows.max(1)).expect("rows");
    for i in 0..rows {
        fake.ingest(WS, row(i, start + step * u32::try_from(i).expect("i"), pad));
    }
    println!("{}", serve(fake).await.expect("serve"));
    std::future::pending::<()>().await;
}

/// The fake in a child process; killed on drop.
struct Served(Child, String);

impl Served {
    fn start(rows: usize, pad: usize) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .args(["serve", &rows.to_string(), &pad.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the fake");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("its URL");
        Self(child, line.trim().to_owned())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// The real client, recording what it sends.
struct Recorded {
    inner: LogsClient,
    sent: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl LogsQuery for Recorded {
    async fn query(
        &self,
        ws: &str,
        query: &str,
        timespan: &str,
        wait: std::time::Duration,
    ) -> Result<Answer, AzureError> {
        self.sent
            .lock()
            .expect("sent")
            .push((query.to_owned(), timespan.to_owned()));
        self.inner.query(ws, query, timespan, wait).await
    }
}

fn workspace_source(url: &str, page_rows: usize) -> (Query, Arc<Recorded>, Arc<InMemoryTables>) {
    workspace_source_over(url, page_rows, None)
}

/// The source over in-memory tables (their own call count read back), or over `tables` when given
/// (a counting decorator: the calls per table).
fn workspace_source_over(
    url: &str,
    page_rows: usize,
    tables: Option<Arc<dyn TableStore>>,
) -> (Query, Arc<Recorded>, Arc<InMemoryTables>) {
    let config = bastion_testkit::state::config(&[]).expect("config");
    let memory = Arc::new(InMemoryTables::new());
    let stores = bastion_testkit::state::stores(
        Arc::new(InMemoryBlobStore::new("devstoreaccount1")),
        tables.unwrap_or_else(|| memory.clone()),
    );
    let state = AppState::assemble(config, Policy::builtin(), stores, Arc::new(SystemClock));
    let timeouts = Timeouts {
        per_try: std::time::Duration::from_secs(600),
        total: std::time::Duration::from_secs(1200),
    };
    let endpoint: url::Url = url.parse().expect("url");
    let http = Client::new(
        "logs",
        Some(&endpoint),
        Auth::None,
        timeouts,
        azure::Policy::CONTROL,
    );
    let inner = LogsClient::new(http.expect("http client"), endpoint);
    let logs = Arc::new(Recorded {
        inner,
        sent: Mutex::default(),
    });
    let settings = QuerySettings {
        workspaces: vec![Workspace {
            id: WS.into(),
            bastion: None,
        }],
        page_rows,
        ..QuerySettings::default()
    };
    let q = Query {
        tail: bastion_recordings::state::tailer(&state),
        logs: logs.clone(),
        settings: Arc::new(settings),
    };
    (q, logs, memory)
}

/// Ticks until `rows` are stored (at most 5): (seconds, ticks, queries, stored).
async fn ticks_until(q: &Query, rows: u64) -> (f64, usize, u64, u64) {
    let started = Instant::now();
    let (mut n, mut queries, mut stored) = (0, 0, 0);
    while stored < rows && n < 5 {
        let r = query::tick(q, OffsetDateTime::now_utc())
            .await
            .expect("tick");
        if r.failed > 0 {
            let status = query::store::status(q.tail.ports.tables.as_ref(), WS).await;
            panic!("the workspace failed: {status:?}");
        }
        (n, queries, stored) = (n + 1, queries + r.queries, stored + r.stored);
    }
    (started.elapsed().as_secs_f64(), n, queries, stored)
}

/// The bare client: the same requests, each answer read whole and parsed, each row upserted as
/// its tunnel's entity (its columns as text); (seconds, rows read, table calls).
async fn bare(url: &str, sent: &[(String, String)]) -> (f64, usize, u64) {
    let tables = InMemoryTables::new();
    let (secs, rows) = bare_into(&tables, url, sent).await;
    (secs, rows, tables.calls())
}

/// The bare client's work into `tables`: (seconds, rows read).
async fn bare_into(tables: &dyn TableStore, url: &str, sent: &[(String, String)]) -> (f64, usize) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut rows = 0;
    for (query, timespan) in sent {
        let body = http
            .post(format!("{url}/v1/workspaces/{WS}/query"))
            .json(&json!({"query": query, "timespan": timespan}))
            .send()
            .await
            .expect("send")
            .bytes()
            .await
            .expect("body");
        let v: Value = serde_json::from_slice(&body).expect("json");
        let table = &v["tables"][0];
        let names: Vec<&str> = (table["columns"].as_array().expect("columns").iter())
            .map(|c| c["name"].as_str().unwrap_or_default())
            .collect();
        for row in table["rows"].as_array().expect("rows") {
            let mut e = Entity::new();
            for (name, value) in names.iter().zip(row.as_array().expect("row")) {
                e.insert((*name).to_owned(), json!(value.to_string()));
            }
            e.insert(
                "PartitionKey".into(),
                row[names
                    .iter()
                    .position(|n| *n == "TunnelId")
                    .expect("TunnelId")]
                .clone(),
            );
            e.insert("RowKey".into(), json!("session"));
            write_creating_table(tables, "bare", &e, WriteMode::Upsert)
                .await
                .expect("upsert");
            rows += 1;
        }
    }
    (started.elapsed().as_secs_f64(), rows)
}

/// Counted table clients on a fresh, empty Azurite.
fn azurite_tables(azurite: &common::azurite::Azurite) -> Arc<CountingTables<TableRestClient>> {
    let config = common::config(&[("AzureWebJobsStorage", azurite.fresh())]);
    common::clients(&config).1
}

/// `rate` on Azurite: each contestant on its own empty instance, in alternating order (the one
/// that runs second meets a warmer machine), the bare client replaying the tick's own queries.
async fn on_azurite(rows: usize, repeats: usize) {
    let served = Served::start(rows, 0);
    let azurite = common::azurite::Azurite::own_in(".azurite-bench-ws");
    let (mut ws_rates, mut bare_rates) = (Vec::new(), Vec::new());
    let mut sent = Vec::new();
    for run in 0..repeats {
        // The first run's tick records the queries the bare client replays.
        let mut order = ["workspace", "bare"];
        if run % 2 == 1 {
            order.reverse();
        }
        for who in order {
            let tables = azurite_tables(&azurite);
            let (secs, calls) = if who == "workspace" {
                let (q, logs, _) = workspace_source_over(&served.1, 10_000, Some(tables.clone()));
                let (secs, _, _, stored) = ticks_until(&q, rows as u64).await;
                assert_eq!(stored, rows as u64, "every row stored");
                sent = logs.sent.lock().expect("sent").clone();
                (secs, tables.total())
            } else {
                let (secs, read) = bare_into(tables.as_ref(), &served.1, &sent).await;
                // The tick's windows overlap by design (exact de-duplication), so a row can come twice.
                assert!(read >= rows, "the bare client read every row");
                (secs, tables.total())
            };
            let rate = rows as f64 / secs;
            println!(
                "{{\"run\":{run},\"who\":\"{who}\",\"rows\":{rows},\"secs\":{secs:.3},\"rows_per_s\":{rate:.0},\"table_calls_per_row\":{:.3}}}",
                calls as f64 / rows as f64
            );
            if who == "workspace" {
                ws_rates.push(rate);
            } else {
                bare_rates.push(rate);
            }
        }
    }
    let (w, b) = (common::median(&ws_rates), common::median(&bare_rates));
    println!(
        "{{\"azurite\":true,\"median_workspace_rows_per_s\":{w:.0},\"median_bare_rows_per_s\":{b:.0},\"ratio_of_medians\":{:.3}}}",
        w / b
    );
}

async fn rate(rows: usize, repeats: usize) {
    let served = Served::start(rows, 0);
    let (mut ws_rates, mut bare_rates) = (Vec::new(), Vec::new());
    for run in 0..repeats {
        let (q, logs, tables) = workspace_source(&served.1, 10_000);
        let (secs, ticks, queries, stored) = ticks_until(&q, rows as u64).await;
        assert_eq!(stored, rows as u64, "every row stored");
        let sent = logs.sent.lock().expect("sent").clone();
        let (bare_secs, bare_rows, bare_calls) = bare(&served.1, &sent).await;
        let per_10k = queries as f64 * 10_000.0 / rows as f64;
        let (w, b) = (rows as f64 / secs, rows as f64 / bare_secs);
        let per_row = |calls: u64| calls as f64 / rows as f64;
        println!(
            "{{\"run\":{run},\"rows\":{rows},\"ticks\":{ticks},\"queries\":{queries},\"queries_per_10k_rows\":{per_10k:.2},\"workspace_secs\":{secs:.3},\"workspace_rows_per_s\":{w:.0},\"workspace_table_calls_per_row\":{:.3},\"bare_secs\":{bare_secs:.3},\"bare_rows_read\":{bare_rows},\"bare_rows_per_s\":{b:.0},\"bare_table_calls_per_row\":{:.3},\"ratio\":{:.3}}}",
            per_row(tables.calls()),
            per_row(bare_calls),
            w / b
        );
        ws_rates.push(w);
        bare_rates.push(b);
    }
    let (w, b) = (common::median(&ws_rates), common::median(&bare_rates));
    println!(
        "{{\"median_workspace_rows_per_s\":{w:.0},\"median_bare_rows_per_s\":{b:.0},\"ratio_of_medians\":{:.3}}}",
        w / b
    );
}

/// The tick's table calls per row, by operation and table (through the counting decorator, so
/// not timed), beside the bare client's.
async fn calls(rows: usize) {
    let served = Served::start(rows, 0);
    let counting = Arc::new(CountingTables::new(InMemoryTables::new()));
    let (q, logs, _) = workspace_source_over(&served.1, 10_000, Some(counting.clone()));
    let (_, ticks, queries, stored) = ticks_until(&q, rows as u64).await;
    assert_eq!(stored, rows as u64, "every row stored");
    let per_row = |n: u64| n as f64 / rows as f64;
    for (op, table, n) in counting.by_table() {
        println!(
            "{{\"who\":\"workspace\",\"op\":\"{op}\",\"table\":\"{table}\",\"calls\":{n},\"per_row\":{:.3}}}",
            per_row(n)
        );
    }
    let sent = logs.sent.lock().expect("sent").clone();
    let (_, _, bare_calls) = bare(&served.1, &sent).await;
    println!(
        "{{\"rows\":{rows},\"ticks\":{ticks},\"queries\":{queries},\"workspace_calls\":{},\"workspace_per_row\":{:.3},\"bare_calls\":{bare_calls},\"bare_per_row\":{:.3}}}",
        counting.total(),
        per_row(counting.total()),
        per_row(bare_calls)
    );
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn rss(megabytes: usize) {
    // Rows of ≈ 1 KiB in the answer: a 64 MB answer is ≈ 65,000 rows, read as one page.
    let rows = megabytes * 1024;
    let served = Served::start(rows, 700);
    let before = peak_rss_kib();
    let (q, logs, _) = workspace_source(&served.1, 500_000);
    let (secs, ticks, queries, stored) = ticks_until(&q, rows as u64).await;
    let peak = peak_rss_kib();
    // The answer's size, counted as it streams (after the peak was read).
    let sent = logs.sent.lock().expect("sent").clone();
    let mut res = reqwest::Client::new()
        .post(format!("{}/v1/workspaces/{WS}/query", served.1))
        .json(&json!({"query": sent[0].0, "timespan": sent[0].1}))
        .send()
        .await
        .expect("send");
    let mut bytes = 0;
    while let Some(c) = res.chunk().await.expect("chunk") {
        bytes += c.len();
    }
    println!(
        "{{\"rows\":{rows},\"stored\":{stored},\"ticks\":{ticks},\"queries\":{queries},\"answer_bytes\":{bytes},\"answer_mib\":{:.1},\"secs\":{secs:.2},\"peak_rss_kib_before\":{before},\"peak_rss_kib\":{peak},\"peak_rss_mib\":{:.1}}}",
        bytes as f64 / 1_048_576.0,
        peak as f64 / 1024.0
    );
}

async fn quiet(ticks: usize) {
    let served = Served::start(0, 0);
    let (q, _, _) = workspace_source(&served.1, 10_000);
    let mut queries = Vec::new();
    for _ in 0..ticks {
        let r = query::tick(&q, OffsetDateTime::now_utc())
            .await
            .expect("tick");
        queries.push(r.queries);
    }
    println!("{{\"ticks\":{ticks},\"queries_per_tick\":{queries:?}}}");
}

//! Demo client for `scripts/demo.sh`: seeds synthetic Bastion recordings and an audit-log hour blob
//! for every Bastion host the settings name (`RECORDINGS_SOURCES`, one container per host) into
//! Azurite through the product's own storage code, then waits for the one catalogue to fill and
//! its recordings to be joined with their sessions, prints the enriched rows as a table (and the
//! blobs' retention tags), and fails when fewer rows or joined rows than seeded are there.
//!
//! The audit hour is the current UTC hour (its blob's path); record and session times are spread
//! over the span from the hour's start to "now", at least 40 minutes long (`demo_seed/mod.rs`, the
//! one definition of this data, which the e2e reviewer test seeds too), so the recordings, created
//! by the seed a moment later, fall inside their sessions' windows, as they would when Bastion
//! uploads a recording right after its session ends. Per host:
//!
//! | recording                        | names the tunnel of               | expected            |
//! |----------------------------------|-----------------------------------|---------------------|
//! | `<y>/<m>/<d>/vm-app-01/<T>.rec`  | alice's SSH session on VM-APP-01  | joined, exact       |
//! | `PLACEHOLDER-<T>`                | bob's RDP session on VM-WIN-02    | joined, exact       |
//! | `pci/<T>`                        | a session no audit record carries | deliberately unjoined |
//!
//! The hour also holds a failed login and a session still open on VM-APP-01 (no recording).
//!
//! `cargo run --example demo -- seed [--no-archive]` ·
//! `cargo run --example demo -- workspace <id>` (the same hour from a Log Analytics workspace: the
//! project's loopback fake of the query API, its URL on stdout; `seed --no-archive` then leaves
//! the archive empty) ·
//! `cargo run --example demo -- show [--expect N] [--joined N] [--timeout S]`
//! Reads the same settings as the handler (`AzureWebJobsStorage`, `RECORDINGS_SOURCES`, …).

use std::time::{Duration, Instant};

use bastion_recordings::config::{Config, SourceSpec};
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore};
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Entity, TableStore};
use bytes::Bytes;
use serde_json::Value;

#[path = "demo_seed/mod.rs"]
mod data;
#[path = "demo_workspace/mod.rs"]
mod workspace;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Recordings seeded per host, and how many of them must end joined with their sessions.
const ROWS_PER_HOST: usize = 3;
const JOINED_PER_HOST: usize = 2;

fn blobs(spec: &SourceSpec) -> Res<AzureBlobStore> {
    let conn = spec
        .conn
        .as_ref()
        .ok_or("the demo needs storage connections (Azurite)")?;
    Ok(AzureBlobStore::new(conn)?)
}

fn tables(config: &Config) -> Res<TableRestClient> {
    let app = &config.storage.app;
    Ok(TableRestClient::new(app, &config.table_prefix)?)
}

async fn seed(config: &Config, archive: bool) -> Res<()> {
    let logs = blobs(
        config
            .sources
            .audit_logs
            .first()
            .ok_or("no audit-log source")?,
    )?;
    let (hour, now) = data::this_hour()?;
    // Recordings first: Bastion uploads a recording when its session ends, before the hour's
    // records reach the archive (the join is order independent either way).
    for up in data::uploads(config, now) {
        let spec = config
            .sources
            .recordings
            .iter()
            .find(|s| s.container == up.blob.container)
            .ok_or("an upload of no configured source")?;
        blobs(spec)?
            .put(&up.blob, up.body, "application/octet-stream", &up.meta)
            .await?;
        println!(
            "uploaded recording {}/{} (Bastion {})",
            up.blob.container, up.blob.name, up.host
        );
    }
    if !archive {
        println!("no audit-log blob: the hour's records come from the workspace");
        return Ok(());
    }
    for (blob, lines, host) in data::audit_blobs(config, hour, now)? {
        logs.create_append(&blob, "application/json").await?;
        logs.append(&blob, Bytes::from(lines.clone())).await?;
        println!(
            "created audit-log append blob {}/…/BASTIONHOSTS/{host}/…/h={:02}/…/PT1H.json ({} records, {} bytes)",
            blob.container,
            hour.hour(),
            lines.lines().count(),
            lines.len()
        );
    }
    Ok(())
}

/// A property of a row as text (numbers too), `""` when absent.
fn prop(e: &Entity, k: &str) -> String {
    match e.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

/// True when the row is joined with the session its blob name names, with the session's user,
/// client IP and times filled (what the demo promises to show).
fn joined_as_named(e: &Entity) -> bool {
    let tunnel = prop(e, "TunnelId").to_ascii_lowercase();
    !tunnel.is_empty()
        && prop(e, "BlobName").to_ascii_lowercase().contains(&tunnel)
        && ["UserName", "ClientIp", "SessionStart", "SessionEnd"]
            .iter()
            .all(|k| !prop(e, k).is_empty())
}

/// True when the row is joined with a session other than the one its blob name names.
fn joined_elsewhere(e: &Entity) -> bool {
    let tunnel = prop(e, "TunnelId").to_ascii_lowercase();
    !tunnel.is_empty() && !prop(e, "BlobName").to_ascii_lowercase().contains(&tunnel)
}

/// `2025-03-14T09:03:54.776Z` as `2025-03-14 09:03:54`; `-` when empty.
fn when(t: &str) -> String {
    match t.get(..19) {
        Some(s) => s.replacen('T', " ", 1),
        None if t.is_empty() => "-".into(),
        None => t.to_owned(),
    }
}

/// True for a GUID's text form (`8-4-4-4-12` hex digits).
fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// A blob name with its GUIDs cut to their first block, so the table stays narrow.
fn short_name(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        match rest.get(..36).filter(|g| is_guid(g)) {
            Some(g) => {
                out.push_str(g.get(..8).unwrap_or_default());
                out.push('…');
                rest = rest.get(36..).unwrap_or_default();
            }
            None => {
                out.push(c);
                rest = rest.get(c.len_utf8()..).unwrap_or_default();
            }
        }
    }
    out
}

/// Prints `rows` under `header`, each column as wide as its widest cell.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .chain([&header])
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count()))))
            .collect();
        println!("  {}", padded.join("  ").trim_end());
    };
    line(&header);
    line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for r in rows {
        line(r);
    }
}

/// One table row of a catalogue entity.
fn table_row(e: &Entity) -> Vec<String> {
    let or_dash = |s: String| if s.is_empty() { "-".to_owned() } else { s };
    let user = match (prop(e, "UserName"), prop(e, "UserEmail")) {
        (u, m) if m.is_empty() => u,
        (u, m) if u.is_empty() => m,
        (u, m) => format!("{u} ({m})"),
    };
    let candidates = prop(e, "MatchCandidates");
    let confidence = match prop(e, "MatchConfidence").as_str() {
        "" => "none".to_owned(),
        "ambiguous" => format!("ambiguous ({})", candidates.split(',').count()),
        c => c.to_owned(),
    };
    vec![
        prop(e, "SourceBastion").to_ascii_uppercase(),
        format!(
            "{}/{}",
            prop(e, "Container"),
            short_name(&prop(e, "BlobName"))
        ),
        or_dash(prop(e, "TargetVm")),
        or_dash(user),
        or_dash(prop(e, "ClientIp")),
        when(&prop(e, "SessionStart")),
        when(&prop(e, "SessionEnd")),
        confidence,
        prop(e, "RetentionClass"),
    ]
}

async fn show(config: &Config, expect: usize, joined: usize, timeout: Duration) -> Res<()> {
    let tables = tables(config)?;
    let started = Instant::now();
    let mut reported = Duration::ZERO;
    let (rows, matched) = loop {
        let mut rows: Vec<Entity> = match tables.query("recordings", None, None, None).await {
            Ok(page) => page.items.into_iter().map(|s| s.entity).collect(),
            // Not created yet (the handler creates it with the first row): keep waiting.
            Err(_) => Vec::new(),
        };
        rows.sort_by_key(|e| (prop(e, "SourceBastion"), prop(e, "BlobName")));
        let matched = rows.iter().filter(|e| joined_as_named(e)).count();
        let done = rows.len() >= expect && matched >= joined;
        if done || started.elapsed() > timeout {
            break (rows, matched);
        }
        // A progress line every 10 s, so a slow run is not mistaken for a hung one.
        if started.elapsed() >= reported + Duration::from_secs(10) {
            reported = started.elapsed();
            println!(
                "  … {:>3.0}s: {}/{expect} rows, {matched}/{joined} joined",
                reported.as_secs_f64(),
                rows.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    println!(
        "\n{} catalogue row(s) in table {}recordings after {:.1}s ({matched} joined with their session; times UTC):\n",
        rows.len(),
        config.table_prefix,
        started.elapsed().as_secs_f64()
    );
    let table: Vec<Vec<String>> = rows.iter().map(table_row).collect();
    print_table(
        &[
            "HOST",
            "RECORDING",
            "VM",
            "USER",
            "CLIENT IP",
            "SESSION START",
            "SESSION END",
            "MATCH",
            "CLASS",
        ],
        &table,
    );
    let hosts = config.sources.recordings.len();
    let unseen: Vec<String> = (0..hosts).map(|i| data::tunnel(data::UNSEEN, i)).collect();
    println!(
        "\n  Deliberately unjoined: each host's pci/… recording names a tunnel id no seeded audit record carries\n  \
         (its session's records never arrived), so it gets no user, client IP or session times: it awaits its\n  \
         own session (MATCH awaiting) for RECORDING_SESSION_WAIT_MINUTES, then lists the sessions whose\n  \
         window holds its creation time as candidates (MATCH ambiguous)."
    );
    let mut tag_rows = Vec::new();
    for e in &rows {
        let (container, name) = (prop(e, "Container"), prop(e, "BlobName"));
        let spec = config
            .sources
            .recordings
            .iter()
            .find(|sp| sp.container == container)
            .ok_or("a row of no configured source")?;
        let tags = blobs(spec)?
            .get_tags(&BlobRef::new(container.clone(), name.clone()))
            .await?;
        let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        tag_rows.push(vec![
            format!("{container}/{}", short_name(&name)),
            tags.join(" "),
        ]);
    }
    println!();
    print_table(&["RECORDING", "BLOB INDEX TAGS"], &tag_rows);
    let wrong: Vec<String> = rows
        .iter()
        .filter(|e| {
            joined_elsewhere(e)
                || (unseen
                    .iter()
                    .any(|t| prop(e, "BlobName").contains(t.as_str()))
                    && !prop(e, "UserName").is_empty())
        })
        .map(|e| format!("{} → {}", prop(e, "BlobName"), prop(e, "TunnelId")))
        .collect();
    let mut failures = Vec::new();
    if rows.len() < expect {
        failures.push(format!("{} of {expect} recordings catalogued", rows.len()));
    }
    if matched < joined {
        failures.push(format!(
            "{matched} of {joined} recordings joined with the session they name (user, client IP and session times filled)"
        ));
    }
    if !wrong.is_empty() {
        failures.push(format!(
            "joined with a session they do not name: {}",
            wrong.join(", ")
        ));
    }
    if !failures.is_empty() {
        return Err(format!(
            "DEMO FAILED after {:.0}s: {}",
            started.elapsed().as_secs_f64(),
            failures.join("; ")
        )
        .into());
    }
    println!(
        "\nDEMO OK: {} rows, {matched} joined with their sessions, {} deliberately unjoined.",
        rows.len(),
        rows.len() - matched
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Res<()> {
    let config = Config::from_env()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |flag: &str, d: usize| -> Res<usize> {
        match args.iter().position(|a| a == flag) {
            None => Ok(d),
            Some(i) => Ok(args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{flag} needs a number"))?),
        }
    };
    let hosts = config.sources.recordings.len();
    match args.first().map(String::as_str) {
        Some("seed") => seed(&config, !args.iter().any(|a| a == "--no-archive")).await,
        Some("workspace") => {
            let id = args.get(1).ok_or("usage: demo workspace <workspace id>")?;
            let (hour, now) = data::this_hour()?;
            workspace::run(id, &data::audit_hours(&config, hour, now)).await
        }
        Some("show") => {
            show(
                &config,
                num("--expect", ROWS_PER_HOST * hosts)?,
                num("--joined", JOINED_PER_HOST * hosts)?,
                Duration::from_secs(u64::try_from(num("--timeout", 60)?)?),
            )
            .await
        }
        _ => Err(
            "usage: demo seed [--no-archive] | demo workspace <id> | demo show [--expect N] [--joined N] [--timeout S]"
                .into(),
        ),
    }
}

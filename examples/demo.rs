//! Demo client for `scripts/demo.sh`: seeds synthetic Bastion recordings and an audit-log hour blob
//! for every Bastion host the settings name (`RECORDINGS_SOURCES`, one container per host) into
//! Azurite through the product's own storage code, then waits for the one catalogue to fill and
//! prints its rows (with their Bastion host) and the blobs' retention tags.
//!
//! `cargo run --example demo -- seed` · `cargo run --example demo -- show [--expect N] [--timeout S]`
//! Reads the same settings as the handler (`AzureWebJobsStorage`, `RECORDINGS_SOURCES`, …).

use std::time::{Duration, Instant};

use bastion_recordings::config::{Config, SourceSpec, Storage};
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bastion_recordings::tables::rest::TableRestClient;
use bytes::Bytes;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The sample hour's tunnel ids (`tests/fixtures/auditlogs/PT1H.sample.jsonl`, host BAS-HUB-WEU).
const TUNNELS: [&str; 3] = [
    "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f",
    "0b7d3c1e-2f4a-4b6c-8d9e-1a2b3c4d5e6f",
    "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
];
const SAMPLE_HOST: &str = "BAS-HUB-WEU";

fn blobs(spec: &SourceSpec) -> Res<AzureBlobStore> {
    let conn = spec
        .conn
        .as_ref()
        .ok_or("the demo needs storage connections (Azurite)")?;
    Ok(AzureBlobStore::new(conn)?)
}

fn tables(config: &Config) -> Res<TableRestClient> {
    let Storage::Connected { app } = &config.storage else {
        return Err("the demo needs AzureWebJobsStorage (Azurite)".into());
    };
    Ok(TableRestClient::new(app, &config.table_prefix)?)
}

/// Host `i`'s version of a sample tunnel id: the first host keeps the sample's, the others get
/// their own (the first hex digit counts the host), so each host's sessions are its own.
fn tunnel(t: &str, i: usize) -> String {
    if i == 0 {
        return t.to_owned();
    }
    format!("{:x}{}", (i + 9) % 16, &t[1..])
}

async fn seed(config: &Config) -> Res<()> {
    let logs_spec = config
        .sources
        .audit_logs
        .first()
        .ok_or("no audit-log source")?;
    let logs = blobs(logs_spec)?;
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/auditlogs/PT1H.sample.jsonl"
    ))?;
    let complete = sample.rfind('\n').map_or(0, |p| p + 1);
    for (i, spec) in config.sources.recordings.iter().enumerate() {
        let host = spec
            .bastion
            .clone()
            .unwrap_or_else(|| SAMPLE_HOST.to_ascii_lowercase())
            .to_ascii_uppercase();
        let rec = blobs(spec)?;
        let names = [
            format!("2025/03/14/vm-app-01/{}.rec", tunnel(TUNNELS[0], i)),
            format!("PLACEHOLDER-{}", tunnel(TUNNELS[1], i)),
            format!("pci/{}", tunnel(TUNNELS[2], i)),
        ];
        for (n, name) in names.iter().enumerate() {
            let mut meta = Metadata::new();
            meta.insert("vm".into(), "vm-app-01".into());
            if n == 2 {
                meta.insert("environment".into(), "pci".into());
            }
            let body = Bytes::from(vec![b'r'; 1024 * (n + 1)]);
            let blob = BlobRef::new(spec.container.clone(), name.clone());
            rec.put(&blob, body, "application/octet-stream", &meta)
                .await?;
            println!(
                "uploaded recording {}/{name} (Bastion {host})",
                spec.container
            );
        }
        // The same hour, as this host's diagnostic setting archives it.
        let mut lines = sample[..complete].replace(SAMPLE_HOST, &host);
        for t in TUNNELS.iter().chain(
            [
                "a1b2c3d4-0000-4000-8000-000000000002",
                "c0ffee00-1111-4222-8333-444455556666",
            ]
            .iter(),
        ) {
            lines = lines.replace(t, &tunnel(t, i));
        }
        let hour = format!(
            "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/{host}/y=2025/m=03/d=14/h=09/m=00/PT1H.json"
        );
        let blob = BlobRef::new(logs_spec.container.clone(), hour);
        logs.create_append(&blob, "application/json").await?;
        logs.append(&blob, Bytes::from(lines.clone())).await?;
        println!(
            "created audit-log append blob {}/…/BASTIONHOSTS/{host}/…/PT1H.json ({} bytes)",
            logs_spec.container,
            lines.len()
        );
    }
    Ok(())
}

async fn show(config: &Config, expect: usize, joined: usize, timeout: Duration) -> Res<()> {
    let tables = tables(config)?;
    let started = Instant::now();
    let rows = loop {
        let rows = tables
            .query("recordings", None, None, None)
            .await
            .map(|p| p.items)
            .unwrap_or_default();
        let matched = rows
            .iter()
            .filter(|r| r.entity.contains_key("MatchConfidence"))
            .count();
        if (rows.len() >= expect && matched >= joined) || started.elapsed() > timeout {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    println!(
        "\n{} catalogue row(s) in table {}recordings after {:.1}s:",
        rows.len(),
        config.table_prefix,
        started.elapsed().as_secs_f64()
    );
    for row in &rows {
        let e = &row.entity;
        let s = |k: &str| {
            e.get(k)
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| Some(v.to_string()))
                })
                .unwrap_or_default()
        };
        println!(
            "- {}\n    bastion={} blob={}/{} size={} class={} until={} status={}",
            s("RecordingId"),
            s("SourceBastion"),
            s("Container"),
            s("BlobName"),
            s("ContentLength"),
            s("RetentionClass"),
            s("RetainUntil"),
            s("Status"),
        );
        for extra in [
            "TunnelId",
            "BastionHost",
            "UserName",
            "ClientIp",
            "TargetVm",
            "SessionStart",
            "MatchConfidence",
        ] {
            if e.contains_key(extra) {
                println!("    {extra}={}", s(extra));
            }
        }
        let spec = config
            .sources
            .recordings
            .iter()
            .find(|sp| sp.container == s("Container"))
            .ok_or("a row of no configured source")?;
        let tags = blobs(spec)?
            .get_tags(&BlobRef::new(s("Container"), s("BlobName")))
            .await?;
        println!("    tags={tags:?}");
    }
    if rows.len() < expect {
        return Err(format!("expected {expect} rows, found {}", rows.len()).into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Res<()> {
    let config = Config::from_env()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |flag: &str, d: u64| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    match args.first().map(String::as_str) {
        Some("seed") => seed(&config).await,
        Some("show") => {
            show(
                &config,
                num("--expect", 3) as usize,
                num("--joined", 0) as usize,
                Duration::from_secs(num("--timeout", 60)),
            )
            .await
        }
        _ => Err("usage: demo seed | demo show [--expect N] [--joined N] [--timeout S]".into()),
    }
}

//! Demo client for `scripts/demo.sh`: seeds synthetic Bastion recordings (and an audit-log hour blob)
//! into Azurite through the product's own storage code, then waits for the catalogue to fill and
//! prints the rows and the blobs' retention tags.
//!
//! `cargo run --example demo -- seed` · `cargo run --example demo -- show [--expect N] [--timeout S]`
//! Reads the same settings as the handler (`AzureWebJobsStorage`, `RECORDINGS_CONTAINER`, …).

use std::time::{Duration, Instant};

use bastion_recordings::config::{Config, Storage};
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bastion_recordings::tables::rest::TableRestClient;
use bytes::Bytes;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const TUNNELS: [&str; 3] = [
    "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f",
    "0b7d3c1e-2f4a-4b6c-8d9e-1a2b3c4d5e6f",
    "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
];

fn stores(config: &Config) -> Res<(AzureBlobStore, AzureBlobStore, TableRestClient)> {
    let Storage::Connected { app } = &config.storage else {
        return Err("the demo needs AzureWebJobsStorage (Azurite)".into());
    };
    let conn = |s: &bastion_recordings::config::SourceSpec| s.conn.clone().ok_or("no connection");
    Ok((
        AzureBlobStore::new(&conn(&config.sources.recordings[0])?)?,
        AzureBlobStore::new(&conn(&config.sources.audit_logs[0])?)?,
        TableRestClient::new(app, &config.table_prefix)?,
    ))
}

async fn seed(config: &Config) -> Res<()> {
    let (rec, logs, _) = stores(config)?;
    let names = [
        format!("2025/03/14/vm-app-01/{}.rec", TUNNELS[0]),
        format!("PLACEHOLDER-{}", TUNNELS[1]),
        format!("pci/{}", TUNNELS[2]),
    ];
    for (i, name) in names.iter().enumerate() {
        let mut meta = Metadata::new();
        meta.insert("vm".into(), "vm-app-01".into());
        if i == 2 {
            meta.insert("environment".into(), "pci".into());
        }
        let body = Bytes::from(vec![b'r'; 1024 * (i + 1)]);
        rec.put(
            &BlobRef::new(config.sources.recordings[0].container.clone(), name.clone()),
            body,
            "application/octet-stream",
            &meta,
        )
        .await?;
        println!(
            "uploaded recording {}/{name}",
            config.sources.recordings[0].container
        );
    }
    let hour = "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU/y=2025/m=03/d=14/h=09/m=00/PT1H.json";
    let blob = BlobRef::new(config.sources.audit_logs[0].container.clone(), hour);
    logs.create_append(&blob, "application/json").await?;
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/auditlogs/PT1H.sample.jsonl"
    ))?;
    let complete = sample
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    logs.append(&blob, Bytes::copy_from_slice(&sample[..complete]))
        .await?;
    println!(
        "created audit-log append blob {}/…/PT1H.json ({complete} bytes)",
        config.sources.audit_logs[0].container
    );
    Ok(())
}

async fn show(config: &Config, expect: usize, joined: usize, timeout: Duration) -> Res<()> {
    let (rec, _, tables) = stores(config)?;
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
            "- {}\n    blob={} size={} class={} until={} status={} keys={}",
            s("RecordingId"),
            s("BlobName"),
            s("ContentLength"),
            s("RetentionClass"),
            s("RetainUntil"),
            s("Status"),
            s("CandidateKeys")
        );
        for extra in [
            "TunnelId",
            "UserName",
            "ClientIp",
            "TargetVm",
            "Protocol",
            "SessionStart",
            "SessionEnd",
            "MatchConfidence",
        ] {
            if e.contains_key(extra) {
                println!("    {extra}={}", s(extra));
            }
        }
        let tags = rec
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

//! RecordingHash benchmark (run by `scripts/bench-hash.sh`): SHA-256 throughput of raw memory, of
//! the streaming ranged-read path over the in-memory store, and (with `TEST_AZURITE=1`) over
//! Azurite, plus the peak RSS of a child process hashing the Azurite blob — the constant-memory
//! claim: peak RSS must not grow with the blob size.
//!
//! Sizes: `BENCH_HASH_MB` (in-memory, default 256), `BENCH_HASH_AZURITE_MB` (default 256).

#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use bastion_recordings::config::Config;
use bastion_recordings::integrity::hash::{CHUNK, hash_blob};
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bytes::Bytes;
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

fn env_mb(k: &str) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / MIB as f64 / secs
}

fn azurite_store() -> Option<AzureBlobStore> {
    if std::env::var("TEST_AZURITE").ok().as_deref() != Some("1") {
        return None;
    }
    let cs = std::env::var("AZURITE_CONNECTION_STRING").ok()?;
    let config = Config::from_lookup(&|k| (k == "AzureWebJobsStorage").then(|| cs.clone())).ok()?;
    let app = &config.storage.app;
    AzureBlobStore::new(app).ok()
}

async fn in_memory() {
    let mb = env_mb("BENCH_HASH_MB");
    let data: Vec<u8> = (0..mb * MIB).map(|i| (i % 251) as u8).collect();
    let t = Instant::now();
    let want = hex::encode(Sha256::digest(&data));
    let raw = t.elapsed().as_secs_f64();
    let store = Arc::new(InMemoryBlobStore::new("bench"));
    let blob = BlobRef::new("recordings", "bench.rec");
    store
        .put(
            &blob,
            Bytes::from(data),
            "application/octet-stream",
            &Metadata::new(),
        )
        .await
        .expect("put");
    let t = Instant::now();
    let h = hash_blob(store.as_ref(), &blob, CHUNK).await.expect("hash");
    let streamed = t.elapsed().as_secs_f64();
    assert_eq!(h.sha256, want);
    println!(
        "in-memory {mb} MiB: raw sha256 {:.0} MiB/s; streamed ranged reads (8 MiB) {:.0} MiB/s; ratio {:.2}",
        mbps(mb * MIB, raw),
        mbps(mb * MIB, streamed),
        raw / streamed
    );
}

async fn azurite_upload(store: &AzureBlobStore, blob: &BlobRef, mb: usize) {
    let _ = store.create_append(blob, "application/octet-stream").await;
    let block: Vec<u8> = (0..4 * MIB).map(|i| (i % 253) as u8).collect();
    let block = Bytes::from(block);
    for _ in 0..mb / 4 {
        store.append(blob, block.clone()).await.expect("append");
    }
}

/// Child process: hash the blob, print throughput and own peak RSS.
async fn azurite_hash(name: &str) {
    let store = azurite_store().expect("azurite");
    let blob = BlobRef::new("benchhash", name);
    let t = Instant::now();
    let h = hash_blob(&store, &blob, CHUNK).await.expect("hash");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "azurite {} MiB: streamed ranged reads {:.0} MiB/s; peak RSS of the hashing process {:.1} MiB",
        h.length / MIB as u64,
        mbps(h.length as usize, secs),
        peak_rss_mb()
    );
}

#[tokio::main]
async fn main() {
    if let Ok(name) = std::env::var("BENCH_HASH_CHILD") {
        return azurite_hash(&name).await;
    }
    in_memory().await;
    let Some(store) = azurite_store() else {
        println!("azurite: skipped (TEST_AZURITE is not 1)");
        return;
    };
    for mb in [16, env_mb("BENCH_HASH_AZURITE_MB")] {
        let name = format!("bench-{mb}-{}.rec", std::process::id());
        azurite_upload(&store, &BlobRef::new("benchhash", &name), mb).await;
        let exe = std::env::current_exe().expect("exe");
        let out = std::process::Command::new(exe)
            .env("BENCH_HASH_CHILD", &name)
            .output()
            .expect("child");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

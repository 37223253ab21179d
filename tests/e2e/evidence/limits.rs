//! `GET /api/evidence` through the real `handler` (its own temporary folder, `TMPDIR`): 60
//! downloads abandoned by their clients mid-build leave no `evidence-*` file or directory behind,
//! and requests beyond `CATALOGUE_EVIDENCE_BUILDS` are answered 503 with `Retry-After` at once while
//! the others get their pack.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{KEY, MONTH};
use crate::audit_logs::support::Env;
use crate::catalogue_sessions::seed_in_march_2025 as seed;
use crate::harness::{self, AzuriteEnv, HandlerProcess};

/// A handler whose temporary folder is `tmp`, building at most `builds` packs at once.
async fn start(tmp: &Path, builds: &str) -> Option<Env> {
    let cs = harness::azurite()?;
    let mut env = AzuriteEnv::new(&cs);
    for (k, v) in [
        ("EVIDENCE_SIGNING_KEY", KEY),
        ("CATALOGUE_EVIDENCE_BUILDS", builds),
        ("TMPDIR", tmp.to_str().expect("utf-8")),
    ] {
        env.vars.insert(k.to_owned(), v.to_owned());
    }
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    Some(Env::with(&cs, env, handler))
}

fn leftovers(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("evidence-"))
                .collect()
        })
        .unwrap_or_default()
}

fn temp_root(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(harness::unique(name));
    std::fs::create_dir_all(&dir).expect("tmp");
    dir
}

#[tokio::test]
async fn aborted_downloads_leave_no_files_behind() {
    let tmp = temp_root("evidence-abort-tmp");
    let Some(e) = start(&tmp, "16").await else {
        return;
    };
    seed(&e).await;
    let url = e.handler.url(&format!("/api/evidence?{MONTH}&code=k"));
    // Something watches the folder while the builds run: packs were really under way.
    let seen = Arc::new(AtomicUsize::new(0));
    let watching = {
        let (seen, tmp) = (seen.clone(), tmp.clone());
        tokio::spawn(async move {
            loop {
                seen.fetch_max(leftovers(&tmp).len(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    // One whole pack first (it also creates the tables the others only use), timed.
    let client = reqwest::Client::new();
    let t = std::time::Instant::now();
    let res = client.get(&url).send().await.expect("request");
    assert_eq!(res.status().as_u16(), 200);
    res.bytes().await.expect("zip");
    let whole = t.elapsed();
    seen.store(0, Ordering::Relaxed);
    let mut finished = 0;
    for wave in 0..6u64 {
        let calls = (0..10u64).map(|i| {
            let (client, url) = (client.clone(), url.clone());
            // Each client gives up after its own few milliseconds: mid-build (a whole pack takes
            // `whole`, ten at once longer).
            let patience = whole.mul_f64(0.05 + 0.015 * (wave * 10 + i) as f64);
            async move {
                tokio::time::timeout(patience, async {
                    let res = client.get(&url).send().await?;
                    res.bytes().await
                })
                .await
                .is_ok()
            }
        });
        finished += futures::future::join_all(calls)
            .await
            .into_iter()
            .filter(|done| *done)
            .count();
    }
    // The server notices each closed connection and drops its request: give it a moment.
    let mut left = leftovers(&tmp);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = leftovers(&tmp);
    }
    watching.abort();
    let seen = seen.load(Ordering::Relaxed);
    assert!(
        seen > 0,
        "no build was under way when its client left (a pack takes {whole:?})"
    );
    assert!(
        finished < 60,
        "the clients left before their packs were done"
    );
    assert_eq!(
        left,
        Vec::<String>::new(),
        "left behind ({seen} seen at once)"
    );
    // The handler still builds a whole pack afterwards, and leaves nothing either.
    let res = client.get(&url).send().await.expect("request");
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.bytes().await.expect("zip").starts_with(b"PK"));
    assert_eq!(leftovers(&tmp), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&tmp);
}

#[tokio::test]
async fn builds_beyond_the_bound_are_answered_503_with_retry_after() {
    let tmp = temp_root("evidence-bound-tmp");
    let Some(e) = start(&tmp, "2").await else {
        return;
    };
    seed(&e).await;
    let url = e.handler.url(&format!("/api/evidence?{MONTH}&code=k"));
    let client = reqwest::Client::new();
    let calls = (0..12).map(|_| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let res = client.get(&url).send().await.expect("request");
            let status = res.status().as_u16();
            let retry = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = res.bytes().await.expect("body");
            (status, retry, body)
        }
    });
    let answers = futures::future::join_all(calls).await;
    let ok: Vec<_> = answers.iter().filter(|(s, ..)| *s == 200).collect();
    let busy: Vec<_> = answers.iter().filter(|(s, ..)| *s == 503).collect();
    assert_eq!(
        ok.len() + busy.len(),
        12,
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(ok.len() >= 2, "the bound's builds went through");
    assert!(
        !busy.is_empty(),
        "12 at once on a bound of 2: some must wait"
    );
    for (_, retry, body) in &busy {
        assert_eq!(retry.as_deref(), Some("30"));
        let v: serde_json::Value = serde_json::from_slice(body).expect("problem");
        assert_eq!(v["title"], "Busy", "{v}");
    }
    for (_, _, body) in &ok {
        assert!(body.starts_with(b"PK"), "a zip");
    }
    // The bound frees up: the next request is built.
    let res = client.get(&url).send().await.expect("request");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(leftovers(&tmp), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&tmp);
}

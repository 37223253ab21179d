//! The download's temporary files and its bound: the pack's directory is private and removed with
//! its guard, the files in it are the process's user's only, and beyond `CATALOGUE_EVIDENCE_BUILDS`
//! packs in progress a request is answered 503 with `Retry-After` at once, until a build ends (or
//! its request is dropped).

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt as _;

use crate::api::{ApiSettings, routes_with};
use crate::azure::AzureError;
use crate::evidence::options::PackOptions;
use crate::evidence::pack::{pack_dir, write_pack};
use crate::pack::key::PackKey;
use crate::tables::TableStore;
use crate::testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use crate::testkit::tables::memory::InMemoryTables;

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_pack_directory_is_private_and_goes_with_its_guard() {
    let f = crate::testkit::fakes();
    let dir = pack_dir().expect("directory");
    let path = dir.path().to_owned();
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(name.starts_with("evidence-"), "{name}");
    let key = PackKey::from_seed([7; 32]);
    let (c, t) = (
        &f.state.config,
        time::macros::datetime!(2025-03-01 0:00 UTC),
    );
    let opts = PackOptions::new(
        (t, t + time::Duration::days(31)),
        None,
        t,
        &c.reviews,
        &c.audit,
    );
    let m = write_pack(
        &path,
        &f.state.ports,
        &key,
        &opts,
        crate::evidence::pdf::Print::NotHere,
    )
    .await
    .expect("pack");
    assert!(!m.files.is_empty());
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o700, "directory");
        for entry in std::fs::read_dir(&path).expect("list") {
            let p = entry.expect("entry").path();
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    drop(dir);
    assert!(!path.exists(), "removed with its guard");
}

/// Holds every query of `sessionwindows` (the pack's first read) until released.
struct Gate {
    entered: Notify,
    open: Semaphore,
}

#[async_trait]
impl BeforeTableCall for Arc<Gate> {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        if let TableCall::Query(table, _) = call
            && table == crate::catalogue::days::DAYS_TABLE
        {
            self.entered.notify_one();
            let _pass = self
                .open
                .acquire()
                .await
                .map_err(|_| AzureError::NotFound)?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn builds_beyond_the_bound_are_refused_until_one_ends() {
    let gate = Arc::new(Gate {
        entered: Notify::new(),
        open: Semaphore::new(0),
    });
    let f = crate::testkit::fakes();
    let tables: Arc<dyn TableStore> =
        Arc::new(Intercepted::with(InMemoryTables::new(), gate.clone()));
    let mut state = crate::testkit::state_over(f.blobs.clone(), tables, f.state.ports.clock.now());
    let mut config = (*state.config).clone();
    config.evidence_key = Some(PackKey::from_seed([7; 32]));
    state.config = Arc::new(config);
    let settings = ApiSettings {
        evidence_builds: 1,
        ..ApiSettings::key_only()
    };
    let api = routes_with(state, settings);
    let get = || {
        Request::builder()
            .uri("/api/evidence?from=2025-03-01&to=2025-03-31")
            .body(Body::empty())
            .expect("request")
    };
    // The first build holds the one permit, stopped at its first read.
    let first = tokio::spawn(api.clone().oneshot(get()));
    gate.entered.notified().await;
    for _ in 0..3 {
        let res = api.clone().oneshot(get()).await.expect("response");
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()["retry-after"], "30");
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("problem");
        assert_eq!(v["title"], "Busy", "{v}");
    }
    // The client goes away: its permit goes with the request.
    first.abort();
    assert!(first.await.is_err_and(|e| e.is_cancelled()));
    gate.open.add_permits(1000);
    let res = api.clone().oneshot(get()).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    // Built one after the other, each takes the permit in turn.
    for _ in 0..2 {
        let res = api.clone().oneshot(get()).await.expect("response");
        assert_eq!(res.status(), StatusCode::OK);
    }
}

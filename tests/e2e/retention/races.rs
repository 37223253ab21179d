//! The sweep's races on every blob store (the fake, and Azurite when enabled): a blob changed
//! after listing (412 → kept, no evidence), one deleted by someone else first (404 → done, with
//! a tombstone), and a policy lengthened after tagging (not-yet-due blobs re-tagged ahead of time).

use bastion_testkit::DefaultSources;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bastion_recordings::azure::AzureError;
use bastion_recordings::catalogue::policy::Policy;
use bastion_recordings::retention::sweep::announce::UNANNOUNCED_PK;
use bastion_recordings::retention::sweep::{SweepParams, run};
use bastion_recordings::retention::tombstone::DELETIONS_TABLE;
use bastion_recordings::retention::{TAG_CLASS, TAG_UNTIL};
use bastion_recordings::storage::{
    BlobItem, BlobProps, BlobRef, BlobStore, Metadata, Page, TaggedBlob, Tags, Upload,
};
use bytes::Bytes;
use time::Duration;

use super::{World, stores};

/// What happens to the blob between the sweep's re-check and its delete.
#[derive(Clone, Copy, Debug)]
enum Race {
    Overwrite,
    Vanish,
}

/// Delegates to a real store; runs the race once, just before the first guarded delete.
struct Racing {
    inner: Arc<dyn BlobStore>,
    race: Mutex<Option<Race>>,
}

#[async_trait]
impl BlobStore for Racing {
    fn account(&self) -> &str {
        self.inner.account()
    }
    async fn properties(&self, b: &BlobRef) -> Result<BlobProps, AzureError> {
        self.inner.properties(b).await
    }
    async fn read_range(&self, b: &BlobRef, o: u64, l: u64) -> Result<Bytes, AzureError> {
        self.inner.read_range(b, o, l).await
    }
    async fn list(
        &self,
        c: &str,
        p: Option<&str>,
        m: Option<String>,
    ) -> Result<Page<BlobItem>, AzureError> {
        self.inner.list(c, p, m).await
    }
    async fn get_tags(&self, b: &BlobRef) -> Result<Tags, AzureError> {
        self.inner.get_tags(b).await
    }
    async fn set_tags(&self, b: &BlobRef, t: &Tags, c: Option<&str>) -> Result<(), AzureError> {
        self.inner.set_tags(b, t, c).await
    }
    async fn find_by_tags(
        &self,
        c: &str,
        e: &str,
        m: Option<String>,
    ) -> Result<Page<TaggedBlob>, AzureError> {
        self.inner.find_by_tags(c, e, m).await
    }
    async fn delete_guarded(
        &self,
        b: &BlobRef,
        etag: Option<&str>,
        if_tags: Option<&str>,
    ) -> Result<(), AzureError> {
        let race = self.race.lock().expect("race").take();
        match race {
            Some(Race::Overwrite) => {
                let tags = self.inner.get_tags(b).await?;
                let body = Bytes::from_static(b"v2");
                self.inner
                    .put(b, body, "video/mp4", &Metadata::new())
                    .await?;
                self.inner.set_tags(b, &tags, None).await?;
            }
            Some(Race::Vanish) => {
                let p = self.inner.properties(b).await?;
                self.inner.delete_guarded(b, Some(&p.etag), None).await?;
            }
            None => {}
        }
        self.inner.delete_guarded(b, etag, if_tags).await
    }
    async fn upload(&self, b: &BlobRef, up: Upload<'_>) -> Result<String, AzureError> {
        self.inner.upload(b, up).await
    }
    async fn create_append(&self, b: &BlobRef, ct: &str) -> Result<(), AzureError> {
        self.inner.create_append(b, ct).await
    }
    async fn append(&self, b: &BlobRef, body: Bytes) -> Result<(), AzureError> {
        self.inner.append(b, body).await
    }
}

fn outcomes(w: &World) -> Vec<String> {
    w.tables
        .dump(DELETIONS_TABLE)
        .iter()
        .filter(|s| {
            !["pending", UNANNOUNCED_PK].contains(&s.entity["PartitionKey"].as_str().unwrap_or(""))
        })
        .map(|s| s.entity["Outcome"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn changed_after_listing_is_kept_and_already_deleted_is_done() {
    for (label, store) in stores() {
        for race in [Race::Overwrite, Race::Vanish] {
            let racing = Arc::new(Racing {
                inner: store.clone(),
                race: Mutex::new(Some(race)),
            });
            let w = World::new(racing);
            let (b, _) = w.recording("race.rec", "ops-30d", 30).await;
            let r = w.sweep(400, false, 10).await;
            match race {
                Race::Overwrite => {
                    assert_eq!((r.changed, r.deleted), (1, 0), "{label}: {r:?}");
                    assert!(w.exists(&b).await, "{label}: a changed blob is kept");
                    assert!(outcomes(&w).is_empty(), "{label}: no evidence, no intent");
                    let next = w.sweep(400, false, 10).await;
                    assert_eq!(next.deleted, 1, "{label}: re-evaluated next run: {next:?}");
                }
                Race::Vanish => {
                    assert_eq!((r.already_gone, r.deleted), (1, 0), "{label}: {r:?}");
                    assert_eq!(outcomes(&w), ["already-gone"], "{label}");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_lengthened_policy_retags_not_yet_due_blobs() {
    for (label, store) in stores() {
        let w = World::new(store);
        let (b, _) = w.recording("long.rec", "ops-30d", 30).await;
        let (other, _) = w.recording("other.rec", "sox-7y", 2557).await;
        w.sweep(1, false, 100).await;
        let mut longer = w.state.clone();
        let default = bastion_recordings::catalogue::policy::DEFAULT_POLICY;
        let text = default.replace("ops-30d = { days = 30 }", "ops-30d = { days = 90 }");
        assert_ne!(
            text, default,
            "the default policy names ops-30d as this test expects"
        );
        longer.policy = Arc::new(Policy::parse(&text).expect("policy"));
        let p = SweepParams {
            now: w.t0 + Duration::days(1),
            invocation_id: "e2e-reeval".into(),
            dry_run: false,
            max_deletes: 100,
        };
        let (r, e) = run(&super::sweeper(&longer), &p).await;
        assert!(e.is_none(), "{label}: {e:?}");
        assert_eq!((r.reevaluated, r.retagged_longer), (1, 1), "{label}: {r:?}");
        let tags = w
            .state
            .ports
            .sources
            .default_recordings()
            .store
            .get_tags(&b)
            .await
            .expect("tags");
        assert_eq!(
            (tags[TAG_CLASS].as_str(), &tags[TAG_UNTIL]),
            ("ops-30d", &w.day(90)),
            "{label}"
        );
        let o = w
            .state
            .ports
            .sources
            .default_recordings()
            .store
            .get_tags(&other)
            .await
            .expect("tags");
        assert_eq!(
            o[TAG_UNTIL],
            w.day(2557),
            "{label}: other classes untouched"
        );
    }
}

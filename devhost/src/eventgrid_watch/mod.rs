//! Event Grid stand-in: polls watched containers through the library's `BlobStore::list` and turns
//! new or overwritten blobs into `Microsoft.Storage.BlobCreated` invocations, redelivered with an
//! Event Grid-like backoff when the invocation fails (non-2xx, non-JSON, timeout).
//!
//! Blobs present when watching starts are the baseline and raise nothing (an Event Grid
//! subscription only sees later writes). Append blobs raise one event, at creation, with
//! `contentLength: 0` and `api: PutBlob`; later appends raise nothing, as in Azure.

mod spec;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bastion_recordings::azure::AzureError;
use bastion_recordings::storage::{BlobItem, BlobKind, BlobStore};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use time::OffsetDateTime;
use tokio::sync::watch;

pub(crate) use spec::{DEFAULT_RETRY, RetrySchedule, WatchSpec, default_watch, parse_watch};
use spec::{Seen, is_created};

use crate::app_root::{FunctionDef, Trigger};
use crate::backoff::{Backoff, secs};
use crate::envelope::{
    BlobFacts, EventIds, blob_api, blob_created_event, event_grid_envelope, sequencer, sys,
};
use crate::invoke::Invoker;

/// Characters escaped in the event `url` (names keep `/` and `=`, as in real events).
const URL_PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'?')
    .add(b'<')
    .add(b'>');

/// Settings shared by every watcher.
#[derive(Debug, Clone)]
pub(crate) struct WatchSettings {
    /// Listing interval.
    pub(crate) poll: Duration,
    /// Redelivery policy.
    pub(crate) retry: RetrySchedule,
    /// Per-attempt timeout (Event Grid waits 30 s).
    pub(crate) timeout: Duration,
    /// `/subscriptions/<id>/resourceGroups/<rg>` for `topic`.
    pub(crate) scope: String,
}

/// One watcher: a container, its store, its function.
pub(crate) struct Watcher {
    /// What is watched.
    pub(crate) spec: WatchSpec,
    /// The container's account.
    pub(crate) store: Arc<dyn BlobStore>,
    /// Blob endpoint without query (`http://127.0.0.1:10000/devstoreaccount1`).
    pub(crate) blob_endpoint: String,
    /// The eventGridTrigger function.
    pub(crate) function: FunctionDef,
}

async fn list_all(store: &dyn BlobStore, container: &str) -> Result<Vec<BlobItem>, AzureError> {
    let mut items = Vec::new();
    let mut marker = None;
    loop {
        match store.list(container, None, marker).await {
            Ok(page) => {
                items.extend(page.items);
                match page.next {
                    Some(m) => marker = Some(m),
                    None => return Ok(items),
                }
            }
            // A container that does not exist yet is simply empty.
            Err(AzureError::NotFound) => return Ok(items),
            Err(e) => return Err(e),
        }
    }
}

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

impl Watcher {
    fn facts(&self, item: &BlobItem, scope: &str) -> BlobFacts {
        let p = &item.props;
        let kind = p.kind.unwrap_or(BlobKind::Block);
        // Append blobs are reported at creation, when they are still empty.
        let length = if kind == BlobKind::Append {
            0
        } else {
            p.content_length
        };
        let major = p
            .last_modified
            .unwrap_or_else(OffsetDateTime::now_utc)
            .unix_timestamp_nanos();
        let c = &self.spec.container;
        BlobFacts {
            scope: scope.to_owned(),
            account: self.store.account().to_owned(),
            container: c.clone(),
            name: item.name.clone(),
            url: format!(
                "{}/{c}/{}",
                self.blob_endpoint.trim_end_matches('/'),
                utf8_percent_encode(&item.name, URL_PATH)
            ),
            etag: bastion_recordings::storage::normalize_etag(&p.etag).to_owned(),
            content_type: p
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            content_length: length,
            blob_type: kind.as_str(),
            api: blob_api(kind.as_str(), length),
            sequencer: sequencer(
                u128::try_from(major).unwrap_or(0),
                SEQUENCE.fetch_add(1, Ordering::Relaxed),
            ),
        }
    }

    /// Lists until the baseline is known, then polls until shutdown.
    pub(crate) async fn run(
        self,
        invoker: Invoker,
        settings: WatchSettings,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut seen: Option<HashMap<String, Seen>> = None;
        let mut backoff = Backoff::new(settings.poll);
        loop {
            match list_all(self.store.as_ref(), &self.spec.container).await {
                Ok(items) => {
                    if backoff.answered() {
                        println!(
                            "devhost watch container={}: storage answers again",
                            self.spec.container
                        );
                    }
                    seen = Some(self.diff(seen, items, &invoker, &settings));
                }
                Err(e) => {
                    let wait = backoff.failed();
                    let what = if e.is_retryable() {
                        "does not answer"
                    } else {
                        "refuses the listing"
                    };
                    eprintln!(
                        "devhost watch container={}: the blob storage of {} ({}) {what} ({e}); next try in {}",
                        self.spec.container,
                        self.spec.connection,
                        self.blob_endpoint,
                        secs(wait)
                    );
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff.wait()) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    fn diff(
        &self,
        seen: Option<HashMap<String, Seen>>,
        items: Vec<BlobItem>,
        invoker: &Invoker,
        s: &WatchSettings,
    ) -> HashMap<String, Seen> {
        let baseline = seen.is_none();
        let previous = seen.unwrap_or_default();
        let mut next = HashMap::with_capacity(items.len());
        for item in items {
            if !baseline && is_created(previous.get(&item.name), &item.props) {
                let event = blob_created_event(
                    &self.facts(&item, &s.scope),
                    &new_ids(),
                    OffsetDateTime::now_utc(),
                );
                tokio::spawn(deliver(
                    self.function.clone(),
                    event,
                    invoker.clone(),
                    s.clone(),
                ));
            }
            next.insert(item.name.clone(), Seen::of(&item.props));
        }
        if baseline {
            println!(
                "devhost watching function={} container={} existing={}",
                self.function.name,
                self.spec.container,
                next.len()
            );
        }
        next
    }
}

fn new_ids() -> EventIds {
    let g = || uuid::Uuid::new_v4().to_string();
    EventIds {
        id: g(),
        client_request_id: g(),
        request_id: g(),
        batch_id: g(),
    }
}

/// Delivers one event until it succeeds or the attempts run out (then it is dropped, as Event
/// Grid does without a dead-letter destination).
async fn deliver(f: FunctionDef, event: serde_json::Value, invoker: Invoker, s: WatchSettings) {
    let Trigger::EventGrid { name } = &f.trigger else {
        return;
    };
    let subject = event["subject"].as_str().unwrap_or_default().to_owned();
    for attempt in 1..=s.retry.max_attempts {
        let body = event_grid_envelope(
            name,
            &event,
            sys(
                &f.name,
                OffsetDateTime::now_utc(),
                &uuid::Uuid::new_v4().to_string(),
            ),
        );
        match invoker
            .invoke(&f, &body, s.timeout.min(invoker.default_timeout()))
            .await
        {
            Ok(_) => {
                println!(
                    "devhost delivered function={} subject={subject} attempt={attempt}",
                    f.name
                );
                return;
            }
            Err(e) if attempt < s.retry.max_attempts => {
                let delay = s.retry.delay(attempt);
                eprintln!(
                    "devhost function={} subject={subject} attempt={attempt} failed ({e}); redelivering in {delay:?}",
                    f.name
                );
                tokio::time::sleep(delay).await;
            }
            Err(e) => eprintln!(
                "devhost function={} subject={subject}: dropped after {attempt} attempts ({e})",
                f.name
            ),
        }
    }
}

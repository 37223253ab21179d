//! The limit: a bare client making, for one new recording, the storage calls the handler makes,
//! through the same clients, and the check that they are the same calls.
//!
//! The calls are not written down by hand: [`check`] sends one recording through the handler's own
//! code path (`functions::recordings::recording_created`, in process, over counting stores built
//! from the spawned handler's settings) and one through [`bare`], and stops the bench unless both
//! made the same number of each operation and sent the same queries (the filters' shapes: Azurite
//! parses and evaluates each filter, so a simpler one costs it less).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use bastion_recordings::azure::AzureError;
use bastion_recordings::catalogue::policy::{Policy, Subject, merge_tags};
use bastion_recordings::catalogue::recording::RecordingKey;
use bastion_recordings::clock::SystemClock;
use bastion_recordings::config::Config;
use bastion_recordings::dates::format_date;
use bastion_recordings::functions::recordings::recording_created;
use bastion_recordings::invocation::{Invocation, InvokeRequest, Outcome};
use bastion_recordings::join::{Times, window_filter};
use bastion_recordings::state::AppState;
use bastion_recordings::storage::{BlobRef, BlobStore, Tags};
use bastion_recordings::tables::filter::Op;
use bastion_recordings::tables::{Entity, Filter, TableStore, WriteMode};
use bastion_testkit::tables::intercept::{BeforeTableCall, Intercepted, TableCall};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::common::{Calls, Counted};

/// The catalogue table, the join's index table and the path index (the handler's names; the
/// prefix is the client's).
const RECORDINGS: &str = "recordings";
const WINDOWS: &str = "sessionwindows";
pub(crate) const PATHS: &str = "recordingpaths";

/// Catalogues `container/name` with the calls the handler makes for a new recording whose name
/// carries no GUID: properties, the name's path index query (`recordingpaths`, one partition),
/// tag read (only when the blob has tags), tag write, the path index row (an upsert, before the
/// row), row insert, then the join's `sessionwindows` query over the start days around the
/// creation time (every page), with the handler's filter. The row has the properties of `template` (the
/// handler's row for the check recording), so both send Azurite rows of one size. `false` when a
/// call failed.
pub(crate) async fn bare(
    blobs: &dyn BlobStore,
    tables: &dyn TableStore,
    policy: &Policy,
    join: &JoinQuery,
    template: &Entity,
    (container, name): (&str, &str),
) -> bool {
    let blob = BlobRef::new(container, name);
    let Ok(props) = blobs.properties(&blob).await else {
        return false;
    };
    let created = props.created.unwrap_or_else(OffsetDateTime::now_utc);
    let key = RecordingKey::for_source_blob(created, blobs.account(), container, name);
    // The name's path index (a row under any creation day); a new name has none, so no
    // catalogue row is read.
    let named = Filter::partition(&key.rk);
    match tables.query(PATHS, Some(&named), Some(1000), None).await {
        Ok(_) | Err(AzureError::NotFound) => {}
        Err(_) => return false,
    }
    let existing = if props.tag_count == Some(0) {
        Tags::new()
    } else {
        match blobs.get_tags(&blob).await {
            Ok(t) => t,
            Err(_) => return false,
        }
    };
    let subject = Subject {
        container,
        blob: name,
        metadata: Some(&props.metadata),
        ..Default::default()
    };
    let (tags, retention) = merge_tags(&existing, &policy.classify(&subject, created));
    if tags != existing && blobs.set_tags(&blob, &tags, None).await.is_err() {
        return false;
    }
    let mut path = Entity::new();
    path.insert("PartitionKey".into(), json!(key.rk));
    path.insert("RowKey".into(), json!(key.pk));
    path.insert("RecordingId".into(), json!(key.id()));
    if tables.write(PATHS, &path, WriteMode::Upsert).await.is_err() {
        return false;
    }
    let mut row = template.clone();
    for (k, v) in [
        ("PartitionKey", json!(key.pk)),
        ("RowKey", json!(key.rk)),
        ("Container", json!(container)),
        ("BlobName", json!(name)),
        ("ContentLength", length(template, props.content_length)),
        ("ETag", json!(props.etag)),
        ("RetentionClass", json!(retention.class)),
        ("RetainUntil", json!(retention.until)),
    ] {
        row.insert(k.into(), v);
    }
    if tables
        .write(RECORDINGS, &row, WriteMode::Insert)
        .await
        .is_err()
    {
        return false;
    }
    let f = join.filter(created);
    let mut next = None;
    loop {
        match tables.query(WINDOWS, Some(&f), Some(1000), next).await {
            Ok(page) if page.next.is_some() => next = page.next,
            Ok(_) => break,
            Err(_) => return false,
        }
    }
    true
}

/// `ContentLength` as the template types it (an `Edm.Int64` travels as a string).
fn length(template: &Entity, n: u64) -> Value {
    if template.contains_key("ContentLength@odata.type") {
        json!(n.to_string())
    } else {
        json!(n)
    }
}

/// The join's `sessionwindows` query as the handler sends it (the library's filter). Azurite parses
/// and evaluates every filter in JavaScript, so a bare client asking for whole day partitions paid
/// less per query than the handler (its five-term filter) and was not the limit it claims to be.
#[derive(Clone, Copy)]
pub(crate) struct JoinQuery {
    /// Days before the creation day the join reads (`AUDIT_OPEN_SESSION_MAX`, at least one).
    pub(crate) days: i64,
    upload_lag: Duration,
    open_session_max: Duration,
}

impl JoinQuery {
    pub(crate) fn new(config: &Config) -> Self {
        let open_session_max = config.audit.open_session_max;
        Self {
            days: open_session_max.max(Duration::days(1)).whole_days(),
            upload_lag: config.audit.upload_lag,
            open_session_max,
        }
    }

    /// The handler's filter for the sessions, over the start days from `days` before `t` to its
    /// own, whose window can hold a recording created at `t`.
    fn filter(&self, t: OffsetDateTime) -> Filter {
        let times = Times {
            lag: self.upload_lag,
            open_max: self.open_session_max,
            wait: Duration::ZERO,
            vouch: Duration::ZERO,
        };
        let first = format_date((t - Duration::days(self.days)).date());
        let last = format_date(t.date());
        window_filter(&times, (&first, &last), t, t)
    }
}

/// The calls one new recording costs the handler's own path and the bare client; stops the bench
/// unless they are equal, operation by operation. `upload` puts a fresh blob; `invocation` builds
/// the handler's envelope for it. Also returns the handler's catalogue row for it, the bare
/// client's template.
pub(crate) async fn check(
    config: &Config,
    stores: &Counted,
    container: &str,
    upload: impl AsyncFn(&str),
    invocation: impl Fn(&str) -> Value,
) -> (Calls, Entity) {
    let (blobs, tables) = stores;
    let watched = Arc::new(Intercepted::with(tables.clone(), Shapes::default()));
    let state = AppState::assemble(
        config.clone(),
        config.policy.clone(),
        bastion_testkit::state::stores(blobs.clone(), watched.clone()),
        Arc::new(SystemClock),
    );
    let through_handler = async |blob: &str| {
        upload(blob).await;
        let raw = bytes::Bytes::from(serde_json::to_vec(&invocation(blob)).expect("json"));
        let inv = Invocation {
            function: "RecordingCreated",
            id: "calls-check".into(),
            host_version: None,
            request: InvokeRequest::parse(&raw).expect("envelope"),
            raw,
        };
        let before = Calls::of(stores);
        let outcome = recording_created(state.clone(), inv)
            .await
            .expect("handler path");
        assert!(
            matches!(outcome, Outcome::Processed { .. }),
            "the handler's path did not catalogue the check recording: {outcome:?}"
        );
        Calls::of(stores) - before
    };
    // Steady state: one recording first (the path creates a table it writes on first use).
    let first = through_handler("calls-check/vm-00/first.mp4").await;
    watched.hook().take();
    let handler_blob = "calls-check/vm-00/handler.mp4";
    let handler = through_handler(handler_blob).await;
    println!(
        "storage calls, the first recording on this store: {} ({})",
        first.total(),
        first.line()
    );
    let handler_queries = watched.hook().take();
    let template = row_of(tables.as_ref(), handler_blob).await;
    let bare_blob = "calls-check/vm-00/bare.mp4";
    upload(bare_blob).await;
    let before = Calls::of(stores);
    let ok = bare(
        blobs.as_ref(),
        watched.as_ref(),
        &config.policy,
        &JoinQuery::new(config),
        &template,
        (container, bare_blob),
    )
    .await;
    assert!(ok, "the bare client failed on the check recording");
    let bare = Calls::of(stores) - before;
    println!(
        "storage calls per new recording: handler path {} ({}), bare client {} ({})",
        handler.total(),
        handler.line(),
        bare.total(),
        bare.line()
    );
    assert_eq!(
        handler, bare,
        "the bare client must make the handler's calls, operation by operation"
    );
    assert_eq!(
        handler_queries,
        watched.hook().take(),
        "the bare client must send the handler's queries (filters with their values masked)"
    );
    let written = row_of(tables.as_ref(), bare_blob).await;
    let names = |e: &Entity| e.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&template),
        names(&written),
        "the bare client must write the handler's row properties"
    );
    let (theirs, ours) = (
        path_of(tables.as_ref(), &template).await,
        path_of(tables.as_ref(), &written).await,
    );
    assert_eq!(
        names(&theirs),
        names(&ours),
        "the bare client must write the handler's path index row"
    );
    (bare, template)
}

/// The table and filter of every query, each quoted value left out: what Azurite parses and
/// evaluates per query, whatever the keys and times.
#[derive(Default)]
struct Shapes(Mutex<Vec<String>>);

impl Shapes {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

#[async_trait]
impl BeforeTableCall for Shapes {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        if let TableCall::Query(table, filter) = call {
            let mut quoted = false;
            let shape: String = filter
                .map(Filter::to_odata)
                .unwrap_or_default()
                .chars()
                .filter(|&c| {
                    quoted ^= c == '\'';
                    c == '\'' || !quoted
                })
                .collect();
            self.0
                .lock()
                .expect("lock")
                .push(format!("{table}: {shape}"));
        }
        Ok(())
    }
}

/// The catalogue row of blob `name` (found by its `BlobName`), without the service's own
/// properties (`odata.*`, `Timestamp`).
async fn row_of(tables: &dyn TableStore, name: &str) -> Entity {
    let f = Filter::str("BlobName", Op::Eq, name);
    let page = tables
        .query(RECORDINGS, Some(&f), Some(1), None)
        .await
        .expect("read the check recording's row");
    let mut row = page
        .items
        .into_iter()
        .next()
        .expect("the check row exists")
        .entity;
    row.retain(|k, _| !k.starts_with("odata.") && k != "Timestamp");
    row
}

/// The `recordingpaths` row of catalogue row `row` (PK its row key, RK its day), without the
/// service's own properties; stops the bench when there is none.
async fn path_of(tables: &dyn TableStore, row: &Entity) -> Entity {
    let key = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut e = tables
        .get(PATHS, key("RowKey"), key("PartitionKey"))
        .await
        .expect("read the path index")
        .expect("the path index row exists")
        .entity;
    e.retain(|k, _| !k.starts_with("odata.") && k != "Timestamp");
    e
}

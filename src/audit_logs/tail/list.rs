//! The tick's first stage, list: the hour blobs that grew, from one listing per host and month
//! compared with the cursors (a host's work unit: with what its planner knew of them, [`known`]).
//! An append blob only grows, so a listed length above the cursor's `SeenLength` is growth and
//! nothing else needs a read. A blob without a cursor (its event was lost) is registered; a cursor
//! read to its end past the window, or whose blob is gone, is retired. A host whose listing fails
//! waits for the next tick.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt as _;
use time::{Duration, OffsetDateTime};
use tracing::{error, info, warn};

use super::register;
use super::tailer::{Growth, Listed, Tailer};
use crate::audit_logs::error::Error;
use crate::audit_logs::path::{Host, HostPath, parse_blob_path, watched};
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::azure::AzureError;
use crate::sources::Source;
use crate::storage::{BlobItem, BlobProps};
use crate::telemetry::redact;

/// Hosts listed at once.
const LISTINGS_IN_FLIGHT: usize = 8;
/// Pages of one listing at most (a month of hour blobs is one page of 5,000 on Azure).
const MAX_PAGES: usize = 16;

/// Lists every one of `hosts` and compares.
pub async fn grown(tail: &Tailer, hosts: Vec<Host>, now: OffsetDateTime) -> Listed {
    let window = tail.settings.tail_look_back;
    let mut out = Listed {
        hosts: hosts.len(),
        ..Listed::default()
    };
    let listed: Vec<(Host, Result<Vec<BlobItem>, Error>)> = futures::stream::iter(hosts)
        .map(|host| async move {
            let items = list(tail, &host, now, window).await;
            (host, items)
        })
        .buffer_unordered(LISTINGS_IN_FLIGHT)
        .collect()
        .await;
    for (host, items) in listed {
        let name = host.path.host.clone();
        let result = async { act(tail, host, items?, now, &mut out).await }.await;
        failed(&mut out, &name, result);
    }
    out
}

fn failed(out: &mut Listed, host: &str, result: Result<(), Error>) {
    if let Err(e) = result {
        out.failed += 1;
        error!(host = %host, error.cause_chain = %redact(&e.to_string()), "listing an audit-log host failed; its hour blobs wait for the next tick");
    }
}

/// One host's listing (`listed`: its planner's, else its own) compared with what its planner knew
/// of it (`known`, [`super::known`]), and only what differs looked at as [`grown`] does, with no
/// query of the host's cursors: a blob grown or gone reads its own cursor row by its keys, a blob
/// not known is registered (or its cursor read, when its event registered it since).
pub async fn known(
    tail: &Tailer,
    known: Host,
    listed: Option<Vec<BlobItem>>,
    now: OffsetDateTime,
) -> Listed {
    let window = tail.settings.tail_look_back;
    let mut out = Listed {
        hosts: 1,
        ..Listed::default()
    };
    let name = known.path.host.clone();
    let items = match listed {
        Some(items) => Ok(items),
        None => list(tail, &known, now, window).await,
    };
    let result = async { differing(tail, known, items?, now, &mut out).await }.await;
    failed(&mut out, &name, result);
    out
}

/// Acts on what `items` (a listing) changed since `known`: each cursor grown or gone read by its
/// keys (a retired one left out), the listed blobs not known and those grown.
async fn differing(
    tail: &Tailer,
    known: Host,
    items: Vec<BlobItem>,
    now: OffsetDateTime,
    out: &mut Listed,
) -> Result<(), Error> {
    let f = compare(
        known.clone(),
        items.clone(),
        now,
        tail.settings.tail_look_back,
    );
    if f.is_empty() {
        return Ok(());
    }
    let repo = CursorRepo::new(tail.ports.tables.clone());
    let source = source(tail, &known)?;
    let at = tail.ports.sources.cursor_source(source);
    let stale = f.grown.into_iter().map(|g| g.cursor).chain(f.missing);
    let mut cursors = Vec::new();
    for c in stale {
        if let Some(real) = repo.get(at.clone(), &c.blob, c.hour).await?
            && !real.done
        {
            cursors.push(real);
        }
    }
    let look: BTreeSet<&str> = (cursors.iter().map(|c| c.blob.as_str()))
        .chain(f.unregistered.iter().map(|i| i.name.as_str()))
        .collect();
    let items = items
        .iter()
        .filter(|i| look.contains(i.name.as_str()))
        .cloned()
        .collect();
    act(tail, Host { cursors, ..known }, items, now, out).await
}

/// The host's watched hours, every page of every month's listing.
pub(super) async fn list(
    tail: &Tailer,
    host: &Host,
    now: OffsetDateTime,
    window: Duration,
) -> Result<Vec<BlobItem>, Error> {
    let source = source(tail, host)?;
    let mut items = Vec::new();
    for (prefix, from) in host.listings(now, window) {
        let mut marker = None;
        for _ in 0..MAX_PAGES {
            let page = match source
                .store
                .list_from(&source.container, &prefix, &from, marker)
                .await
            {
                Err(AzureError::NotFound) => break,
                other => other?,
            };
            items.extend(page.items);
            marker = page.next;
            if marker.is_none() {
                break;
            }
        }
    }
    Ok(items)
}

/// The configured source of `host`. One no longer configured is a storage error (retried next
/// tick, logged), so configuring it again resumes its cursors where they stopped.
fn source<'a>(tail: &'a Tailer, host: &Host) -> Result<&'a Source, Error> {
    let (account, container) = &host.source;
    (tail.ports.sources.audit_log(account, container)).ok_or_else(|| {
        Error::Interrupted(format!(
            "audit-log source {account}/{container} of {} is not configured",
            host.path.host
        ))
    })
}

/// Acts on one host's findings: growth to read, registrations, retirements, missing blobs.
async fn act(
    tail: &Tailer,
    host: Host,
    items: Vec<BlobItem>,
    now: OffsetDateTime,
    out: &mut Listed,
) -> Result<(), Error> {
    let window = tail.settings.tail_look_back;
    let source = source(tail, &host)?;
    let Findings {
        grown,
        retire,
        unregistered,
        missing,
    } = compare(host, items, now, window);
    out.grown
        .extend(grown.into_iter().map(|g| (source.clone(), g)));
    let repo = CursorRepo::new(tail.ports.tables.clone());
    for c in retire {
        retire_cursor(&repo, c, "read to its end past the window").await?;
    }
    for c in missing {
        let blob = source.blob(c.blob.clone());
        match source.store.properties(&blob).await {
            Err(AzureError::NotFound) => retire_cursor(&repo, c, "its blob is gone").await?,
            Ok(props) => {
                warn!(blob = %blob, "the listing did not show a watched hour blob; read by its properties");
                verdict(&repo, source, judge(c, &props, now, window), out).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    for item in unregistered {
        register(tail, source, &repo, item, now, out).await?;
    }
    Ok(())
}

async fn verdict(
    repo: &CursorRepo,
    source: &Source,
    v: Verdict,
    out: &mut Listed,
) -> Result<(), Error> {
    match v {
        Verdict::Grown(g) => out.grown.push((source.clone(), g)),
        Verdict::Retire(c) => retire_cursor(repo, c, "read to its end past the window").await?,
        Verdict::Quiet => {}
    }
    Ok(())
}

/// Retires `c` `If-Match` the cursor as read (one another instance just changed waits a tick).
async fn retire_cursor(repo: &CursorRepo, mut c: Cursor, why: &str) -> Result<(), AzureError> {
    c.done = true;
    match repo.save(&c).await {
        Ok(_) => info!(blob = %c.blob, why, "audit-log cursor retired"),
        Err(AzureError::PreconditionFailed | AzureError::NotFound) => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// A watched hour blob the cursors did not show: registered (unless it is by now), then judged.
async fn register(
    tail: &Tailer,
    source: &Source,
    repo: &CursorRepo,
    item: BlobItem,
    now: OffsetDateTime,
    out: &mut Listed,
) -> Result<(), Error> {
    let Ok(hour) = parse_blob_path(&item.name) else {
        return Ok(());
    };
    let at = tail.ports.sources.cursor_source(source);
    let cursor = match repo.get(at, &item.name, hour.hour).await? {
        Some(c) => c,
        None => {
            let created = item.props.created.unwrap_or(now);
            let tags = item.props.tag_count;
            let Some(c) = register::cursor(tail, source, &item.name, created, tags).await? else {
                return Ok(());
            };
            out.registered += 1;
            warn!(blob = %item.name, "hour blob without a cursor (its event was lost): registered from the listing");
            c
        }
    };
    if cursor.done {
        return Ok(());
    }
    verdict(
        repo,
        source,
        judge(cursor, &item.props, now, tail.settings.tail_look_back),
        out,
    )
    .await
}

/// What one cursor's listed properties say.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    /// Bytes past what was read: read them.
    Grown(Growth),
    /// Past the window and read to its end: retire without a read.
    Retire(Cursor),
    /// Nothing to do.
    Quiet,
}

/// Judges one cursor by its blob's listed properties.
pub(super) fn judge(
    c: Cursor,
    props: &BlobProps,
    now: OffsetDateTime,
    window: Duration,
) -> Verdict {
    let length = props.content_length;
    let since = if length > c.seen_length {
        c.grown_at
            .unwrap_or_else(|| props.last_modified.unwrap_or(now).min(now))
    } else if !c.expired(now, window) {
        return Verdict::Quiet;
    } else if c.offset < length {
        // A last line waiting for its newline: final at retirement, read once (first: it is old).
        c.hour
    } else {
        return Verdict::Retire(c);
    };
    Verdict::Grown(Growth {
        cursor: c,
        length,
        since,
    })
}

/// What a host's listing says.
#[derive(Debug, Default)]
pub(super) struct Findings {
    /// Blobs that grew.
    pub grown: Vec<Growth>,
    /// Cursors to retire without a read.
    pub retire: Vec<Cursor>,
    /// Watched hour blobs without an active cursor (their event was lost, or they were registered
    /// since the cursors were read).
    pub unregistered: Vec<BlobItem>,
    /// Cursors whose blob the listing did not show (gone, or a listing that skipped it).
    pub missing: Vec<Cursor>,
}

impl Findings {
    /// True when the listing says nothing is to be done.
    pub(super) fn is_empty(&self) -> bool {
        self.grown.is_empty()
            && self.retire.is_empty()
            && self.unregistered.is_empty()
            && self.missing.is_empty()
    }
}

/// Compares `host`'s cursors with the listing of its hours.
pub(super) fn compare(
    host: Host,
    items: Vec<BlobItem>,
    now: OffsetDateTime,
    window: Duration,
) -> Findings {
    let mut listed: BTreeMap<String, BlobItem> =
        items.into_iter().map(|i| (i.name.clone(), i)).collect();
    let mut out = Findings::default();
    for c in host.cursors {
        match listed.remove(&c.blob) {
            None => out.missing.push(c),
            Some(item) => match judge(c, &item.props, now, window) {
                Verdict::Grown(g) => out.grown.push(g),
                Verdict::Retire(c) => out.retire.push(c),
                Verdict::Quiet => {}
            },
        }
    }
    out.unregistered = listed
        .into_values()
        .filter(|i| {
            parse_blob_path(&i.name).is_ok_and(|h| watched(h.hour, now, window))
                && HostPath::of(&i.name).is_some_and(|p| p.host == host.path.host)
        })
        .collect();
    out
}

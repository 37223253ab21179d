//! `handler backfill`: catalogues every existing recording and tails every existing `PT1H.json` of
//! a time range, and reads the range from each Log Analytics workspace's retained history
//! (`workspaces`), for teams switching the product on after months of recordings.
//!
//! Same code paths as the functions ([`items`]): nothing here decides what a row says. Audit logs
//! go first, so recordings find their sessions when they are catalogued (the other order also
//! converges: a session's tail re-joins its recordings). Per container, listing pages are processed
//! with at most `concurrency` items in flight (`buffered`: results come back in listing order, so
//! the [`checkpoint`] is a low-water mark — every name up to it is finished); audit hours a day's
//! worth at a time, each session of those hours written once (`hours`).
//!
//! Guarantees: **resumable** (a killed run continues after the checkpoint; `--restart` ignores it);
//! **idempotent** (existing rows are `Present`, cursors at their end are `TailedBefore`; outputs such
//! as `recording.catalogued` are only produced for rows written now); **failures are not lost**
//! (recorded in table `backfill`, retried first by the next run, reflected in the exit code).

pub mod checkpoint;
pub mod hashes;
mod hours;
pub mod items;
pub mod progress;
pub mod rows;
mod summary;
mod walk;
mod workspaces;

pub use summary::{JoinTotals, Summary};
pub use walk::{Kind, Options, Walk};

use futures::StreamExt as _;
use serde_json::Value;

use self::checkpoint::{BackfillRepo, Checkpoint};
use self::items::{Done, process, time_of};
use self::progress::Progress;
use self::rows::PageRows;
use crate::azure::AzureError;
use crate::invocation::Failure;
use crate::state::AppState;
use crate::storage::BlobItem;
use crate::telemetry::redact;

/// Default items in flight.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Checkpoint after this many completed items (and at every page end).
pub const CHECKPOINT_EVERY: usize = 100;
/// Failed items retried per run and kind.
pub const MAX_RETRIED: usize = 10_000;

/// Runs a backfill. `emit(binding, message)` receives every output the code paths produced (the
/// messages the functions would have put on `notifications` / `hashrequests`).
///
/// # Errors
/// `Retryable` when listing or the checkpoint fails (item failures are counted, not returned).
pub async fn run(
    state: &AppState,
    opts: &Options,
    progress: &mut Progress,
    emit: &mut dyn FnMut(&str, Value),
) -> Result<Summary, Failure> {
    let mut s = Summary {
        complete: true,
        ..Summary::default()
    };
    let mut budget = opts.limit.unwrap_or(usize::MAX);
    for kind in &opts.kinds {
        if walk_kind(state, *kind, opts, progress, &mut s, &mut budget, emit).await {
            break;
        }
    }
    if opts.kinds.contains(&Kind::AuditLogs) && !opts.dry_run && s.complete {
        progress.stage("workspaces");
        workspaces::read(state, opts, &mut s, emit).await;
    }
    if !opts.dry_run {
        progress.stage("join");
        join(state, opts, &mut s, emit).await?;
    }
    if opts.hash && s.complete && !opts.dry_run && opts.kinds.contains(&Kind::Recordings) {
        progress.stage("hashes");
        let h = hashes::hash_range(state, opts.from, opts.to, opts.concurrency).await?;
        s.errors += h.failed.len();
        s.failed.extend(h.failed.iter().cloned());
        s.hashes = Some(h);
    }
    progress.finish();
    Ok(s)
}

/// The join pass over the range (every recording created in it decided again, every session
/// its walks changed joined), then the failed-login checks of the partitions the walks touched.
///
/// # Errors
/// `Retryable` when the join fails (the next run, or a tail tick, joins what is still pending).
async fn join(
    state: &AppState,
    opts: &Options,
    s: &mut Summary,
    emit: &mut dyn FnMut(&str, Value),
) -> Result<(), Failure> {
    let scope = crate::join::Scope {
        since: crate::dates::format_date(opts.from.date()),
        span: Some(crate::catalogue::days::Span {
            from: opts.from,
            until: opts.to,
        }),
    };
    let unlimited = crate::clock::Budget::unlimited(state.ports.clock.clone());
    let now = state.ports.clock.now();
    let r = crate::state::join(state)
        .run(&scope, now, &unlimited)
        .await?;
    s.joined = Some(JoinTotals {
        evaluated: r.evaluated,
        rewritten: r.rewritten,
        sessions: r.sessions,
    });
    let bursts = crate::audit_logs::detect::unchecked::bursts(&state.ports, &state.audit).await;
    for m in crate::spine::messages(bursts) {
        emit(crate::spine::QUEUE, m);
    }
    Ok(())
}

/// Walks every source of `kind`; `true` when the budget ran out (the run stops).
async fn walk_kind(
    state: &AppState,
    kind: Kind,
    opts: &Options,
    progress: &mut Progress,
    s: &mut Summary,
    budget: &mut usize,
    emit: &mut dyn FnMut(&str, Value),
) -> bool {
    for source in kind.sources(state) {
        let walk = Walk { kind, source };
        progress.stage(&walk.label());
        // One source that cannot be listed fails its walk (named, counted, the run exits 1
        // and the next one resumes it from its checkpoint), never the other sources'.
        let walked = async {
            if !opts.dry_run {
                retry_failed(state, walk, opts, s, budget, emit).await?;
            }
            pass(state, walk, opts, progress, s, budget, emit).await
        };
        match walked.await {
            Ok(true) => {}
            Ok(false) => {
                s.complete = false;
                return true;
            }
            Err(e) => {
                let (label, text) = (walk.label(), redact(&e.to_string()));
                tracing::error!(source = %label, error.cause_chain = %text, "backfill of one source failed; the others go on");
                s.errors += 1;
                s.failed.push(format!("{label}: {text}"));
                s.complete = false;
            }
        }
    }
    false
}

/// Handles one item's result; a failure is recorded for the next run. `true` when it succeeded.
async fn record_result(
    state: &AppState,
    walk: Walk<'_>,
    name: &str,
    result: Result<Done, Failure>,
    opts: &Options,
    s: &mut Summary,
    emit: &mut dyn FnMut(&str, Value),
) -> Result<bool, Failure> {
    let repo = BackfillRepo::new(state.ports.tables.clone());
    match result {
        Ok(done) => {
            s.count(&done, emit);
            Ok(true)
        }
        Err(e) => {
            let text = redact(&e.to_string());
            let label = walk.label();
            tracing::error!(kind = %label, blob = name, error.cause_chain = %text, "backfill item failed; retried next run");
            s.errors += 1;
            s.failed.push(format!("{label}:{name}"));
            if !opts.dry_run {
                repo.fail(&label, name, &text, state.ports.clock.now())
                    .await?;
            }
            Ok(false)
        }
    }
}

async fn retry_failed(
    state: &AppState,
    walk: Walk<'_>,
    opts: &Options,
    s: &mut Summary,
    budget: &mut usize,
    emit: &mut dyn FnMut(&str, Value),
) -> Result<(), Failure> {
    let repo = BackfillRepo::new(state.ports.tables.clone());
    let label = walk.label();
    for name in repo.failed(&label, MAX_RETRIED).await? {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let blob = walk.source.blob(name.clone());
        let result = match walk.source.store.properties(&blob).await {
            Err(AzureError::NotFound) => Ok(Done::Ignored),
            Err(e) => Err(e.into()),
            Ok(props) => {
                let item = BlobItem {
                    name: name.clone(),
                    props,
                };
                process(state, walk, &item, state.ports.clock.now(), false, None).await
            }
        };
        if record_result(state, walk, &name, result, opts, s, emit).await? {
            repo.clear(&label, &name).await?;
        }
    }
    Ok(())
}

/// Saves a walk's checkpoint (not in a dry run).
async fn save(state: &AppState, opts: &Options, key: &str, cp: &Checkpoint) -> Result<(), Failure> {
    if opts.dry_run {
        return Ok(());
    }
    let repo = BackfillRepo::new(state.ports.tables.clone());
    Ok(repo.save(key, cp, state.ports.clock.now()).await?)
}

/// One container's pass from its checkpoint; `false` when the budget ran out first.
async fn pass(
    state: &AppState,
    walk: Walk<'_>,
    opts: &Options,
    progress: &mut Progress,
    s: &mut Summary,
    budget: &mut usize,
    emit: &mut dyn FnMut(&str, Value),
) -> Result<bool, Failure> {
    let repo = BackfillRepo::new(state.ports.tables.clone());
    let key = BackfillRepo::key(&walk.label(), opts.from, opts.to);
    let mut cp = if opts.restart || opts.dry_run {
        Checkpoint::default()
    } else {
        repo.load(&key).await?
    };
    if cp.done {
        return Ok(true);
    }
    let (store, container, kind) = (&walk.source.store, &walk.source.container, walk.kind);
    let now = state.ports.clock.now();
    loop {
        let page = match store.list(container, None, cp.marker.clone()).await {
            Err(AzureError::NotFound) => crate::storage::Page {
                items: vec![],
                next: None,
            },
            other => other?,
        };
        let todo: Vec<BlobItem> = page
            .items
            .into_iter()
            .filter(|i| cp.after.as_ref().is_none_or(|a| i.name > *a))
            .filter(|i| time_of(kind, i).is_some_and(|t| t >= opts.from && t < opts.to))
            .collect();
        progress.listed(todo.len().min(*budget));
        let take = todo.len().min(*budget);
        let todo: Vec<BlobItem> = todo.into_iter().take(take).collect();
        // A recordings page's catalogue rows in one range query per day, not one read per item.
        let rows = match kind {
            Kind::Recordings if !todo.is_empty() => {
                Some(PageRows::read(state, walk.source, &todo, now).await?)
            }
            _ => None,
        };
        let rows = rows.as_ref();
        let mut results = match kind {
            // Audit hours in groups, each session written once per group ([`hours`]).
            Kind::AuditLogs if !opts.dry_run => {
                let groups: Vec<Vec<BlobItem>> = todo
                    .chunks(hours::HOURS_UNWRITTEN)
                    .map(<[_]>::to_vec)
                    .collect();
                futures::stream::iter(groups)
                    .then(move |g| hours::group(state, walk, g, now, opts.concurrency))
                    .flat_map(futures::stream::iter)
                    .boxed_local()
            }
            _ => futures::stream::iter(todo)
                .map(|item| async move {
                    let r = process(state, walk, &item, now, opts.dry_run, rows).await;
                    (item.name, r)
                })
                .buffered(opts.concurrency.max(1))
                .boxed_local(),
        };
        let mut since_save = 0;
        while let Some((name, result)) = results.next().await {
            *budget -= 1;
            record_result(state, walk, &name, result, opts, s, emit).await?;
            progress.done(s);
            cp.after = Some(name);
            since_save += 1;
            if since_save >= CHECKPOINT_EVERY {
                since_save = 0;
                save(state, opts, &key, &cp).await?;
            }
        }
        drop(results);
        if *budget == 0 && (take > 0 || page.next.is_some()) {
            save(state, opts, &key, &cp).await?;
            return Ok(false);
        }
        cp = Checkpoint {
            done: page.next.is_none(),
            marker: page.next,
            after: None,
        };
        save(state, opts, &key, &cp).await?;
        if cp.done {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests;

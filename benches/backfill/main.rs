//! What users pay for when they switch the product on: `handler backfill` over the history of
//! several Bastion hosts (by default 10,000 recordings and 48 hours of audit logs for 5 hosts), from
//! an empty catalogue on Azurite, beside the bare-client limit ([`bare`]).
//!
//! Contestants, each on its own copy of the same generated history ([`data`]) in a freshly started,
//! empty Azurite ([`common::azurite`]: the emulator slows down as it fills, which would favour whoever ran
//! first), so each starts from an empty catalogue and untagged blobs; with `--rounds N` the order
//! rotates every round:
//! - **the real binary**: `handler backfill --from … --to … --concurrency N`, settings
//!   `RECORDINGS_SOURCES=AzureWebJobsStorage:<container>@<host>,…` (one container per host) and
//!   `AUDITLOGS_SOURCES=AzureWebJobsStorage:<container>`; wall time from exec to exit; its summary line must report every
//!   recording catalogued and every hour tailed, without errors;
//! - **the same entry point in process** (`backfill::run`, the function the binary's `backfill`
//!   command calls after building its state from the same settings), over the same clients behind
//!   the library's counting decorators: this run gives the storage calls. It is faithful because
//!   the binary adds only argument parsing and printing around that call, and every source of the
//!   bench is in one account, for which the binary also builds exactly one blob client; its wall
//!   time beside the binary's shows that nothing else differs;
//! - **the bare client** ([`bare`]): the fewest calls for the same stored result, same clients,
//!   same concurrency, counted the same way.
//!
//! Every contestant's catalogue must end with one row per recording. `BENCH_HANDLER_BIN` builds
//! run as binary contestants with the same settings (builds that read the source lists).
//!
//! Usage: `scripts/bench-backfill.sh [-- --recordings N --hosts N --hours N --untunnelled PCT
//! --concurrency N --rounds N --contestants binary,inprocess,bare | --quick] [--shared-azurite]`.

#[path = "../common/mod.rs"]
#[allow(
    dead_code,
    reason = "shared with the RecordingCreated bench, which uses the rest"
)]
mod common;

mod bare;
mod contestants;
mod data;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use common::azurite::Azurite;
use common::{median, num};
use contestants::{Outcome, Who};
use data::Sizes;

/// Items per second over `secs`.
fn rate(items: usize, secs: f64) -> f64 {
    items as f64 / secs
}

#[tokio::main]
async fn main() {
    let Some(azurite) = Azurite::from_args() else {
        return;
    };
    let quick = common::flag("--quick");
    let sizes = Sizes {
        recordings: num("--recordings", if quick { 300 } else { 10_000 }),
        hosts: num("--hosts", if quick { 2 } else { 5 }),
        hours: num("--hours", if quick { 6 } else { 48 }),
        untunnelled: num("--untunnelled", 10),
    };
    assert!(
        sizes.hosts >= 1 && sizes.hours >= 1 && sizes.untunnelled <= 100,
        "bad sizes"
    );
    let concurrency: usize = num("--concurrency", 8);
    let rounds: usize = num("--rounds", 1);
    let now = OffsetDateTime::now_utc();
    let history = data::generate(sizes, now);
    // Recordings are created by their upload (now and during the run): the range ends well after.
    let (from, to) = (history.start, now + time::Duration::hours(12));
    let items = sizes.recordings + history.audit.len();
    let audit_bytes: usize = history.audit.iter().map(|(_, b)| b.len()).sum();
    println!(
        "backfill on Azurite: {} recordings ({}% named without tunnel id) + {} audit-log hours \
         ({} sessions, {} failed logins, {} records, {:.1} MiB) for {} Bastion host(s) = {items} \
         items; --concurrency {concurrency}; range {} .. {}; {rounds} round(s), contestants in \
         rotating order, each on its own copy of the history in {}, from an empty catalogue",
        sizes.recordings,
        sizes.untunnelled,
        history.audit.len(),
        history.sessions,
        history.failed,
        history.records,
        audit_bytes as f64 / (1 << 20) as f64,
        sizes.hosts,
        from.format(&Rfc3339).expect("time"),
        to.format(&Rfc3339).expect("time"),
        match azurite {
            Azurite::Own(..) => "a freshly started Azurite",
            Azurite::Shared(_) =>
                "the shared Azurite (--shared-azurite: later runs meet a fuller emulator)",
        }
    );
    // The in-process contestant's item failures say why, as the command's do.
    bastion_recordings::telemetry::init_for_cli(&bastion_recordings::config::log_settings());
    let mut who = vec![
        Who::Binary(
            "this build: handler backfill".into(),
            env!("CARGO_BIN_EXE_handler").into(),
        ),
        Who::InProcess,
        Who::Bare,
    ];
    // `--contestants binary,inprocess,bare` (default: all) runs some of them only.
    if let Some(only) = common::arg("--contestants") {
        let only: Vec<&str> = only.split(',').map(str::trim).collect();
        who.retain(|w| only.contains(&w.key()));
        assert!(!who.is_empty(), "--contestants: binary, inprocess or bare");
    }
    who.extend(
        common::other_builds()
            .into_iter()
            .map(|b| Who::Binary(format!("BENCH_HANDLER_BIN {b}"), b)),
    );
    let run = contestants::Run {
        azurite: &azurite,
        sizes,
        history: &history,
        from,
        to,
        concurrency,
    };
    let mut results: Vec<Vec<Outcome>> = who.iter().map(|_| Vec::new()).collect();
    for r in 0..rounds {
        for j in 0..who.len() {
            let k = (j + r) % who.len();
            let o = run.one(&who[k]).await;
            assert_eq!(
                o.rows,
                sizes.recordings,
                "{}: {} catalogue rows",
                who[k].label(),
                o.rows
            );
            println!("round {}  {}", r + 1, line(&who[k], items, &o));
            println!("         state: {}", o.state);
            // Every contestant leaves the same catalogue, or the comparison means nothing.
            if let Some(first) = results.iter().flatten().next() {
                assert_eq!(
                    o.state,
                    first.state,
                    "{} ends with another state than the first run",
                    who[k].label()
                );
            }
            results[k].push(o);
        }
    }
    report(&who, items, &results);
}

fn line(who: &Who, items: usize, o: &Outcome) -> String {
    let secs = o.wall.as_secs_f64();
    let uncounted = match who {
        Who::Binary(_, bin) if bin == env!("CARGO_BIN_EXE_handler") => {
            "calls: counted on the in-process run (same code)"
        }
        _ => "calls: not counted (another build)",
    };
    let calls = o.calls.as_ref().map_or_else(
        || uncounted.to_owned(),
        |c| {
            format!(
                "calls {} ({:.2}/item: {})",
                c.total(),
                c.total() as f64 / items as f64,
                c.line()
            )
        },
    );
    format!(
        "{:<52} items {items}  wall {secs:>7.1} s  rate {:>6.1} items/s  index rows {}  path rows {}  {calls}",
        who.label(),
        rate(items, secs),
        o.index_rows,
        o.path_rows
    )
}

/// Medians over the rounds and the handler/bare ratios.
fn report(who: &[Who], items: usize, results: &[Vec<Outcome>]) {
    let wall = |k: usize| {
        median(
            &results[k]
                .iter()
                .map(|o| o.wall.as_secs_f64())
                .collect::<Vec<_>>(),
        )
    };
    let calls = |k: usize| {
        median(
            &results[k]
                .iter()
                .filter_map(|o| o.calls.as_ref().map(|c| c.total() as f64))
                .collect::<Vec<_>>(),
        )
    };
    for (k, w) in who.iter().enumerate() {
        let c = calls(k);
        let counted = if c > 0.0 {
            format!("calls {c:.0} ({:.2}/item)", c / items as f64)
        } else {
            "calls not counted".into()
        };
        println!(
            "MEDIAN   {:<52} wall {:>7.1} s  rate {:>6.1} items/s  {counted}",
            w.label(),
            wall(k),
            rate(items, wall(k))
        );
    }
    let bare = who.iter().position(|w| matches!(w, Who::Bare));
    let counted = who.iter().position(|w| matches!(w, Who::InProcess));
    let Some(bare) = bare else { return };
    for (k, w) in who
        .iter()
        .enumerate()
        .filter(|(_, w)| matches!(w, Who::Binary(..)))
    {
        println!(
            "RATIO    {:<52} rate {:.2} of the bare client's (bare wall / its wall)",
            w.label(),
            wall(bare) / wall(k)
        );
    }
    if let Some(counted) = counted {
        println!(
            "RATIO    storage calls, handler (in process) / bare: {:.2} ({:.2} vs {:.2} per item)",
            calls(counted) / calls(bare),
            calls(counted) / items as f64,
            calls(bare) / items as f64
        );
    }
}

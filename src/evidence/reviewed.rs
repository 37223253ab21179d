//! The pack's review figures of a period without writing a pack: its reviews, then its sessions,
//! counted by the same [`Counter`] as [`write_pack`](super::pack::write_pack), and the review
//! queue's overdue sessions as the pack reads them ([`count_overdue`], which the pack calls too).
//! `GET /api/reviews/figures` answers them, so the page shows what the pack will say.

use anyhow::Context as _;

use super::figures::{Counter, HostFigures};
use super::options::PackOptions;
use super::source::{Kind, Source};
use crate::ports::Ports;

/// Counts the queued sessions of the pack's period that are overdue when it is made: the queue's
/// state at `opts.now` (`reviews::queue::read::overdue_in`).
///
/// # Errors
/// Storage failures reading the queue.
pub async fn count_overdue(
    ports: &Ports,
    opts: &PackOptions,
    counter: &mut Counter,
) -> anyhow::Result<()> {
    let hosts = crate::reviews::queue::read::overdue_in(
        ports.tables.as_ref(),
        opts.bastion.as_deref(),
        (opts.from, opts.to),
        opts.now,
    )
    .await
    .context("reading the review queue's overdue sessions")?;
    for host in hosts {
        counter.overdue(&host);
    }
    Ok(())
}

/// The figures of all hosts of the pack `opts` describes, of its reviews and sessions only:
/// sessions, reviewed, reviewed on time, reviewed independently and overdue are the pack's.
///
/// # Errors
/// Storage failures.
pub async fn review_figures(ports: &Ports, opts: &PackOptions) -> anyhow::Result<HostFigures> {
    let mut counter = Counter::new(opts.to, opts.review_deadline);
    let mut source = Source::new(ports.clone(), opts);
    // Reviews first: a session's first review must be known when the session is counted.
    (source.each(&[Kind::Reviews, Kind::Sessions], |f| counter.add(f))).await?;
    count_overdue(ports, opts, &mut counter).await?;
    Ok(counter.finish().total)
}

#[cfg(test)]
mod tests {
    use super::review_figures;
    use crate::evidence::pack::write_pack;
    use crate::evidence::pdf::Print;
    use crate::evidence::tables_tests::{options, temp_dir};
    use crate::pack::key::PackKey;

    /// Two sessions reviewed, one of them on time, a third never, a failed login: the figures
    /// without a pack are the pack's own, figure for figure.
    #[tokio::test]
    async fn the_review_figures_are_the_packs() {
        let f = crate::evidence::lists_tests::seeded().await;
        let ports = &f.state.ports;
        let opts = options(None);
        let dir = temp_dir();
        let m = write_pack(
            &dir,
            ports,
            &PackKey::from_seed([5u8; 32]),
            &opts,
            Print::NotAsked,
        )
        .await
        .expect("pack");
        let _ = std::fs::remove_dir_all(&dir);
        let got = review_figures(ports, &opts).await.expect("figures");
        let pack = &m.figures["total"];
        let n = |k: &str| pack[k].as_u64().unwrap_or_else(|| panic!("{k} in {pack}"));
        assert_eq!(
            (
                got.tally.sessions,
                got.tally.reviewed,
                got.tally.reviewed_on_time,
                got.reviewed_independently,
                got.overdue
            ),
            (
                n("sessions"),
                n("reviewed"),
                n("reviewedOnTime"),
                n("reviewedIndependently"),
                n("overdue")
            )
        );
        assert_eq!((got.tally.reviewed, got.tally.reviewed_on_time), (2, 1));
    }
}

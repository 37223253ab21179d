//! The RecordingCreated bench's summary per concurrency level: each contestant's totals over its
//! slices, and each handler's rate over the bare client's.
//!
//! The rate is the recordings of all slices over their summed time, so every slice weighs by its
//! duration; the ratio's spread is the per-slice ratios (slice `i` of a handler beside slice `i`
//! of the bare client, minutes apart at most, so the machine's drift cancels out of each).

use std::time::Duration;

use super::Who;
use crate::common::{CpuPerItem, Timed, median, ms};

/// Prints the totals and ratios of concurrency level `c`.
pub(crate) fn print(c: usize, who: &[Who], results: &[Vec<(Timed, CpuPerItem)>]) {
    let totals: Vec<Timed> = results.iter().map(|r| merged(r)).collect();
    for (k, w) in who.iter().enumerate() {
        let t = &totals[k];
        println!(
            "c={c:<3} TOTAL    {:<48} {:>7.1}/s  p50 {:>7.1} ms  p99 {:>7.1} ms  cpu/rec {}{}",
            w.label(),
            t.rate(),
            ms(t.quantile(0.5)),
            ms(t.quantile(0.99)),
            cpu(&results[k]).line(),
            if t.failed > 0 {
                format!("  ({} failed)", t.failed)
            } else {
                String::new()
            }
        );
    }
    let bare = who.len() - 1;
    for (k, w) in who.iter().enumerate().take(bare) {
        let per_slice: Vec<f64> = results[k]
            .iter()
            .zip(&results[bare])
            .map(|((h, _), (b, _))| h.rate() / b.rate())
            .collect();
        let (lo, hi) = per_slice
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        println!(
            "c={c:<3} RATIO    {:<48} {:.2} of the bare client's rate (per slice: median {:.2}, \
             {lo:.2}–{hi:.2}; goal ≥ 0.90)",
            w.label(),
            totals[k].rate() / totals[bare].rate(),
            median(&per_slice),
        );
    }
}

/// One contestant's slices as one run: summed time, every latency.
fn merged(slices: &[(Timed, CpuPerItem)]) -> Timed {
    Timed {
        elapsed: slices.iter().map(|(t, _)| t.elapsed).sum(),
        failed: slices.iter().map(|(t, _)| t.failed).sum(),
        latencies: slices
            .iter()
            .flat_map(|(t, _)| t.latencies.iter().copied())
            .collect(),
    }
}

/// CPU per recording over the slices (they are of one size, so the mean of theirs).
fn cpu(slices: &[(Timed, CpuPerItem)]) -> CpuPerItem {
    let mean = |f: &dyn Fn(&CpuPerItem) -> Option<Duration>| {
        let v: Vec<Duration> = slices.iter().filter_map(|(_, c)| f(c)).collect();
        (!v.is_empty()).then(|| v.iter().sum::<Duration>() / v.len() as u32)
    };
    CpuPerItem {
        handler: mean(&|c| c.handler),
        azurite: mean(&|c| c.azurite),
        bench: mean(&|c| c.bench),
    }
}

//! A whole `EstateCheck` period in one call, for the component tests and the benches: every host
//! checked as its unit does, then what spans hosts settled.

use time::OffsetDateTime;

use bastion_recordings::arm::ResourceManager;
use bastion_recordings::estate::check::{Report, checked, settle};
use bastion_recordings::estate::findings::Sinks;
use bastion_recordings::estate::settings::EstateSettings;
use bastion_recordings::estate::shared::Reads;
use bastion_recordings::estate::trail::{self, Window};
use bastion_recordings::ports::Ports;
use bastion_recordings::spine::Finding;

/// Hosts [`run`] reads at once at most: 100 hosts fit one tick; the pacer lowers the requests out
/// below it.
pub const CONCURRENCY: usize = 8;

/// Checks every host of `settings` in one run (the audit trail read once for them all), each as
/// `estate::check::host` does, then settles: what the `EstateCheck` units of one period do
/// together.
pub async fn run(
    ports: &Ports,
    arm: &dyn ResourceManager,
    settings: &EstateSettings,
    sinks: &Sinks,
    window: Window,
    now: OffsetDateTime,
) -> Report {
    let seen = trail::seen(ports.tables.as_ref(), window, now).await;
    let shared = Reads::default();
    // Built eagerly: a lazily mapped stream of borrowing futures trips the `Send` check of the route.
    let checks: Vec<_> = (settings.hosts.iter())
        .map(|h| {
            checked(
                ports,
                (arm, &shared),
                settings,
                h,
                sinks,
                (&seen, window),
                now,
            )
        })
        .collect();
    use futures::StreamExt as _;
    let results: Vec<Report> = futures::stream::iter(checks)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = Report::default();
    for r in results {
        report.open += r.open;
        report.findings.extend(r.findings);
        report.failed.extend(r.failed);
    }
    report.findings.sort_by_cached_key(Finding::id);
    settle(ports, now).await;
    report
}

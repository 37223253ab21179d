//! Progress of a backfill: an `indicatif` bar on stderr when stderr is a terminal, otherwise (CI,
//! `nohup`, a pipe) a plain log line every [`LOG_EVERY`], so a long run is never silent and log
//! files never fill with terminal escape codes.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::summary::Summary;

/// Interval of the plain log lines.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Reports progress; hidden entirely in tests.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    log_every: Option<Duration>,
    last_log: Instant,
    stage: String,
}

impl Progress {
    /// A bar on a terminal, plain lines elsewhere.
    pub fn for_stderr() -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            Self::with(bar, None)
        } else {
            Self::with(ProgressBar::hidden(), Some(LOG_EVERY))
        }
    }

    /// Reports nothing.
    pub fn hidden() -> Self {
        Self::with(ProgressBar::hidden(), None)
    }

    fn with(bar: ProgressBar, log_every: Option<Duration>) -> Self {
        Self {
            bar,
            log_every,
            last_log: Instant::now(),
            stage: String::new(),
        }
    }

    /// Starts the pass over `stage` (a container kind).
    pub fn stage(&mut self, stage: &str) {
        stage.clone_into(&mut self.stage);
        self.bar.set_prefix(stage.to_owned());
        self.bar.set_length(0);
        self.bar.set_position(0);
        if self.log_every.is_some() {
            eprintln!("backfill: {stage}: listing");
        }
    }

    /// More items were listed in the range.
    pub fn listed(&self, n: usize) {
        self.bar.inc_length(n as u64);
    }

    /// One item finished.
    pub fn done(&mut self, s: &Summary) {
        self.bar.inc(1);
        self.bar.set_message(format!("{} errors", s.errors));
        if let Some(every) = self.log_every
            && self.last_log.elapsed() >= every
        {
            self.last_log = Instant::now();
            eprintln!("backfill: {}: {}", self.stage, s.line());
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

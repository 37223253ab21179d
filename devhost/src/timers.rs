//! Timer triggers: 6-field NCRONTAB schedules (croner, seconds required, UTC), `runOnStartup`,
//! an in-memory schedule monitor (`ScheduleStatus`), function.json `retry` policies, and admin
//! invocations (`POST /admin/functions/<Name>`), which use the monitor's status without updating it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::app_root::{FunctionDef, Trigger};
use crate::envelope::{ScheduleStatus, retry_context, sys, timer_envelope, timer_info};
use crate::invoke::Invoker;
use crate::process::expand_env;

/// A late firing beyond this counts as past due.
const PAST_DUE_AFTER: time::Duration = time::Duration::seconds(5);

/// One timer function and its monitor state.
pub(crate) struct Timer {
    f: FunctionDef,
    binding: String,
    cron: Cron,
    run_on_startup: bool,
    use_monitor: bool,
    /// (last fired occurrence, last updated).
    monitor: Mutex<(Option<OffsetDateTime>, OffsetDateTime)>,
}

fn to_chrono(t: OffsetDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
}

fn from_chrono(t: DateTime<Utc>) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.timestamp_nanos_opt()?)).ok()
}

/// Parses a schedule the way devhost supports it: `%Setting%` expanded, six fields, UTC.
pub(crate) fn parse_schedule(
    raw: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Cron, String> {
    let expr = expand_env(raw, env);
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Disallowed)
        // NCRONTAB requires both day-of-month and day-of-week to match (vixie cron ORs them).
        .dom_and_dow(true)
        .build()
        .parse(expr.trim())
        .map_err(|e| {
            format!("schedule {expr:?}: {e} (devhost needs a 6-field NCRONTAB expression)")
        })
}

/// The first occurrence strictly after `after`.
pub(crate) fn next_after(cron: &Cron, after: OffsetDateTime) -> Option<OffsetDateTime> {
    cron.find_next_occurrence(&to_chrono(after)?, false)
        .ok()
        .and_then(from_chrono)
}

impl Timer {
    /// A timer for a `timerTrigger` function; `Err` for other triggers or a bad schedule.
    pub(crate) fn new(f: &FunctionDef, now: OffsetDateTime) -> Result<Self, String> {
        let Trigger::Timer {
            name,
            schedule,
            run_on_startup,
            use_monitor,
        } = &f.trigger
        else {
            return Err(format!("{} is not a timer function", f.name));
        };
        let cron = parse_schedule(schedule, &|k| std::env::var(k).ok())?;
        Ok(Self {
            f: f.clone(),
            binding: name.clone(),
            cron,
            run_on_startup: *run_on_startup,
            use_monitor: *use_monitor,
            monitor: Mutex::new((None, now)),
        })
    }

    /// The function name.
    pub(crate) fn name(&self) -> &str {
        &self.f.name
    }

    fn status(&self, occurrence: OffsetDateTime) -> Option<ScheduleStatus> {
        let (last, last_updated) = *self.monitor.lock().unwrap_or_else(|p| p.into_inner());
        self.use_monitor.then_some(ScheduleStatus {
            last,
            next: occurrence,
            last_updated,
        })
    }

    /// Fires once for `occurrence`, honouring the retry policy. `scheduled` updates the monitor.
    pub(crate) async fn fire(
        &self,
        invoker: &Invoker,
        occurrence: OffsetDateTime,
        scheduled: bool,
    ) {
        let now = OffsetDateTime::now_utc();
        let info = timer_info(
            self.status(occurrence).as_ref(),
            scheduled && now - occurrence > PAST_DUE_AFTER,
        );
        let max = self.f.retry.as_ref().map_or(0, |r| r.max_retry_count);
        let mut retry: Option<(u32, String)> = None;
        loop {
            let ctx = retry.as_ref().map(|(n, e)| retry_context(*n, max, e));
            let s = sys(
                &self.f.name,
                OffsetDateTime::now_utc(),
                &uuid::Uuid::new_v4().to_string(),
            );
            let body = timer_envelope(&self.binding, info.clone(), s, ctx);
            let Err(e) = invoker
                .invoke(&self.f, &body, invoker.default_timeout())
                .await
            else {
                break;
            };
            let n = retry.as_ref().map_or(1, |(n, _)| n + 1);
            match &self.f.retry {
                Some(policy) if n <= max => {
                    eprintln!(
                        "devhost function={} failed ({e}); retry {n} of {max}",
                        self.f.name
                    );
                    tokio::time::sleep(policy.delay(n)).await;
                    retry = Some((n, e));
                }
                _ => {
                    eprintln!(
                        "devhost function={} failed ({e}); giving up on this occurrence",
                        self.f.name
                    );
                    break;
                }
            }
        }
        if scheduled {
            *self.monitor.lock().unwrap_or_else(|p| p.into_inner()) =
                (Some(occurrence), OffsetDateTime::now_utc());
        }
    }

    /// Admin invocation: current status with `Next` = the next scheduled occurrence.
    pub(crate) async fn fire_admin(&self, invoker: &Invoker) {
        let now = OffsetDateTime::now_utc();
        let next = next_after(&self.cron, now).unwrap_or(now);
        self.fire(invoker, next, false).await;
    }

    /// Runs the schedule until shutdown.
    pub(crate) async fn run(
        self: Arc<Self>,
        invoker: Invoker,
        mut shutdown: watch::Receiver<bool>,
    ) {
        if self.run_on_startup {
            self.fire(&invoker, OffsetDateTime::now_utc(), true).await;
        }
        loop {
            let now = OffsetDateTime::now_utc();
            let Some(next) = next_after(&self.cron, now) else {
                eprintln!(
                    "devhost function={}: schedule has no next occurrence",
                    self.f.name
                );
                return;
            };
            let wait = Duration::try_from(next - now).unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(wait) => self.fire(&invoker, next, true).await,
                _ = shutdown.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn ncrontab_six_fields_with_monday_as_one() {
        let cron = parse_schedule("0 30 9 * * 1-5", &none).expect("cron");
        // 2025-03-15 is a Saturday: the next weekday 09:30 is Monday the 17th.
        assert_eq!(
            next_after(&cron, datetime!(2025-03-15 10:00 UTC)),
            Some(datetime!(2025-03-17 09:30 UTC))
        );
        let nightly = parse_schedule("0 0 2 * * *", &none).expect("cron");
        assert_eq!(
            next_after(&nightly, datetime!(2025-03-15 02:00 UTC)),
            Some(datetime!(2025-03-16 02:00 UTC))
        );
        let every = parse_schedule("*/5 * * * * *", &none).expect("cron");
        assert_eq!(
            next_after(&every, datetime!(2025-03-15 02:00:01.5 UTC)),
            Some(datetime!(2025-03-15 02:00:05 UTC))
        );
    }

    #[test]
    fn five_fields_and_garbage_are_rejected_and_settings_expand() {
        assert!(parse_schedule("0 2 * * *", &none).is_err());
        assert!(parse_schedule("not a schedule", &none).is_err());
        let env = |k: &str| (k == "SWEEP").then(|| "0 17 * * * *".to_owned());
        assert!(parse_schedule("%SWEEP%", &env).is_ok());
    }
}

//! devhost's own command line and `DEVHOST_*` settings (the handler's settings pass through untouched).

use std::path::PathBuf;
use std::time::Duration;

use crate::eventgrid_watch::{DEFAULT_RETRY, RetrySchedule, WatchSpec, default_watch, parse_watch};

/// Usage text for `--help`.
pub(crate) const USAGE: &str = "usage: devhost [--app-root DIR] [--handler PATH]

Local stand-in for the Azure Functions host (dev and tests only).
Settings (environment):
  DEVHOST_PORT                   HTTP port for /api/* and /admin/* (default 7071; 0 = any free port)
  DEVHOST_WATCH                  Function=CONNECTION:container[,...] turned into BlobCreated events
                                 (default: one per RECORDINGS_SOURCES / AUDITLOGS_SOURCES
                                  entry, as the handler reads them; empty = off)
  DEVHOST_POLL_MS                blob listing interval (default 500)
  DEVHOST_QUEUE_POLL_MS          idle queue polling interval (default 500)
  DEVHOST_EVENTGRID_RETRY        redelivery delays, e.g. 10s,30s,1m (default Event Grid's schedule)
  DEVHOST_EVENTGRID_MAX_ATTEMPTS deliveries per event before it is dropped (default 30)
  DEVHOST_EVENTGRID_TIMEOUT_MS   per-delivery timeout (default 30000)
  DEVHOST_SUBSCRIPTION_ID, DEVHOST_RESOURCE_GROUP  used in event topics
  AzureWebJobs.<Function>.Disabled=true  do not trigger that function (admin API still works)";

/// Everything devhost reads about itself.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `--app-root`.
    pub(crate) app_root: PathBuf,
    /// `--handler`.
    pub(crate) handler: Option<PathBuf>,
    /// `DEVHOST_PORT`.
    pub(crate) port: u16,
    /// `DEVHOST_WATCH`, parsed.
    pub(crate) watch: Vec<WatchSpec>,
    /// Whether `DEVHOST_WATCH` was set (then an unusable connection is fatal, else skipped).
    pub(crate) watch_explicit: bool,
    /// `DEVHOST_POLL_MS`.
    pub(crate) blob_poll: Duration,
    /// `DEVHOST_QUEUE_POLL_MS`.
    pub(crate) queue_poll: Duration,
    /// `DEVHOST_EVENTGRID_RETRY` + `DEVHOST_EVENTGRID_MAX_ATTEMPTS`.
    pub(crate) retry: RetrySchedule,
    /// `DEVHOST_EVENTGRID_TIMEOUT_MS`.
    pub(crate) eventgrid_timeout: Duration,
    /// `/subscriptions/<id>/resourceGroups/<rg>`.
    pub(crate) scope: String,
}

/// Whether `AzureWebJobs.<name>.Disabled` is set to true (or 1).
pub(crate) fn is_disabled(name: &str, env: &dyn Fn(&str) -> Option<String>) -> bool {
    env(&format!("AzureWebJobs.{name}.Disabled"))
        .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

impl Settings {
    /// Reads `args` (without the program name) and `env`. `Ok(None)` for `--help`.
    ///
    /// # Errors
    /// One message listing every problem.
    pub(crate) fn parse(
        args: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, String> {
        let (mut app_root, mut handler) = (PathBuf::from("."), None);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--app-root" => app_root = it.next().ok_or("--app-root needs a directory")?.into(),
                "--handler" => {
                    handler = Some(PathBuf::from(it.next().ok_or("--handler needs a path")?))
                }
                "-h" | "--help" => return Ok(None),
                other => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        let mut errors = Vec::new();
        let mut num = |key: &str, default: u64| -> u64 {
            match env(key) {
                None => default,
                Some(v) => v.trim().parse().unwrap_or_else(|_| {
                    errors.push(format!("{key}: not a number"));
                    default
                }),
            }
        };
        let port = u16::try_from(num("DEVHOST_PORT", 7071)).unwrap_or(7071);
        let blob_poll = Duration::from_millis(num("DEVHOST_POLL_MS", 500).max(10));
        let queue_poll = Duration::from_millis(num("DEVHOST_QUEUE_POLL_MS", 500).max(10));
        let attempts = u32::try_from(num("DEVHOST_EVENTGRID_MAX_ATTEMPTS", 30)).unwrap_or(30);
        let eventgrid_timeout =
            Duration::from_millis(num("DEVHOST_EVENTGRID_TIMEOUT_MS", 30_000).max(1));
        let retry_text = env("DEVHOST_EVENTGRID_RETRY").unwrap_or_else(|| DEFAULT_RETRY.into());
        let retry = RetrySchedule::parse(&retry_text, attempts).unwrap_or_else(|e| {
            errors.push(e);
            RetrySchedule {
                delays: vec![Duration::from_secs(10)],
                max_attempts: attempts,
            }
        });
        let watch_explicit = env("DEVHOST_WATCH").is_some();
        let watch_text = env("DEVHOST_WATCH").unwrap_or_else(|| default_watch(env));
        let watch = parse_watch(&watch_text, env).unwrap_or_else(|e| {
            errors.push(e);
            Vec::new()
        });
        let sub = env("DEVHOST_SUBSCRIPTION_ID")
            .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into());
        let rg = env("DEVHOST_RESOURCE_GROUP").unwrap_or_else(|| "devhost".into());
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        Ok(Some(Self {
            app_root,
            handler,
            port,
            watch,
            watch_explicit,
            blob_poll,
            queue_poll,
            retry,
            eventgrid_timeout,
            scope: format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn defaults_and_overrides() {
        let none = |_: &str| None;
        let s = Settings::parse(&[], &none).expect("ok").expect("some");
        assert_eq!(
            (s.port, s.blob_poll, s.retry.max_attempts),
            (7071, Duration::from_millis(500), 30)
        );
        assert_eq!(s.watch.len(), 2);
        let env = |k: &str| match k {
            "DEVHOST_PORT" => Some("0".to_owned()),
            "DEVHOST_WATCH" => Some(String::new()),
            "DEVHOST_EVENTGRID_RETRY" => Some("50ms,100ms".to_owned()),
            _ => None,
        };
        let s = Settings::parse(&args(&["--app-root", "/x", "--handler", "h"]), &env)
            .expect("ok")
            .expect("some");
        assert_eq!((s.port, s.watch.len()), (0, 0));
        assert_eq!(s.app_root, PathBuf::from("/x"));
        assert_eq!(s.retry.delay(5), Duration::from_millis(100));
    }

    #[test]
    fn bad_settings_are_all_reported() {
        let env = |k: &str| match k {
            "DEVHOST_PORT" => Some("x".to_owned()),
            "DEVHOST_EVENTGRID_RETRY" => Some("soon".to_owned()),
            _ => None,
        };
        let e = Settings::parse(&[], &env).expect_err("bad");
        assert!(
            e.contains("DEVHOST_PORT") && e.contains("DEVHOST_EVENTGRID_RETRY"),
            "{e}"
        );
        assert!(Settings::parse(&args(&["--bogus"]), &|_| None).is_err());
        assert!(
            Settings::parse(&args(&["--help"]), &|_| None)
                .expect("ok")
                .is_none()
        );
    }

    #[test]
    fn functions_can_be_disabled_like_in_azure() {
        let env = |k: &str| (k == "AzureWebJobs.AuditLogTail.Disabled").then(|| "True".to_owned());
        assert!(is_disabled("AuditLogTail", &env));
        assert!(!is_disabled("RecordingCreated", &env));
    }
}

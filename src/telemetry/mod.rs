//! Logging setup and the redaction rule for anything that may carry a secret.
//!
//! Logs go to stdout (the host logs every stderr line as an Error): JSON under the Functions host
//! or with `LOG_FORMAT=json`, compact otherwise, each value escaped onto its line ([`text`]). Error
//! chains pass through [`redact`] (URLs may carry SAS signatures or webhook tokens); types holding
//! secrets implement `Debug` through `debug_fields!`.

pub mod text;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

/// The logging settings; a bad `RUST_LOG` degrades to `info` with a warning (never stops start-up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// `RUST_LOG`, as set.
    pub filter: Option<String>,
    /// JSON lines: under the Functions host (`FUNCTIONS_WORKER_RUNTIME` set) or `LOG_FORMAT=json`.
    pub json: bool,
}

impl LogSettings {
    /// Reads the settings through `env`.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            filter: env("RUST_LOG"),
            json: env("FUNCTIONS_WORKER_RUNTIME").is_some()
                || env("LOG_FORMAT").is_some_and(|v| v.eq_ignore_ascii_case("json")),
        }
    }
}

/// Lines queued for the writer thread before a request waits (never dropped); the default's queue
/// is allocated up front.
const QUEUED_LINES: usize = 1024;

/// Installs the global subscriber (later calls install nothing), writing to stdout through a writer
/// thread so a request never waits on the host's reader; keep the guard until the server stops.
pub fn init(settings: &LogSettings) -> WorkerGuard {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::new(std::io::stdout()));
    install(writer, settings, None);
    guard
}

/// The same for the commands: stderr, errors only unless `RUST_LOG` asks for more (stdout is
/// theirs, and a failed call's warning would stand above the one sentence the command says).
pub fn init_for_cli(settings: &LogSettings) {
    install(std::io::stderr, settings, Some(CLI_LOG));
}

/// The commands' log filter when `RUST_LOG` is unset.
pub const CLI_LOG: &str = "error";

fn install<W>(writer: W, settings: &LogSettings, default: Option<&str>)
where
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let (filter, bad) = filter_from(settings.filter.as_deref().or(default));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if settings.json {
        registry
            .with(
                json_subscriber::layer()
                    .with_writer(writer)
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init()
    } else {
        registry.with(compact_layer(writer)).try_init()
    };
    if let Some(error) = bad {
        tracing::warn!(%error, "RUST_LOG is not a list of `level` / `target=level` directives; logging at info");
    }
}

/// The compact text format, every field value and message escaped ([`text::escape_controls`]).
fn compact_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::field::MakeExt as _;
    let fields = fmt::format::debug_fn(|w, field, value| {
        // Display and Debug fields alike are the caller's text until escaped here.
        let text = format!("{value:?}");
        let text = text::escape_controls(&text);
        if field.name() == "message" {
            w.write_str(&text)
        } else {
            write!(w, "{}={text}", field.name())
        }
    })
    .delimited(" ");
    fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .compact()
        .fmt_fields(fields)
}

/// The log filter for `RUST_LOG` (default `info`), and why the setting was refused, if it was.
/// [`Targets`], not `EnvFilter`, whose lock is taken on every span enter, exit and record.
pub fn filter_from(setting: Option<&str>) -> (Targets, Option<String>) {
    let default = || Targets::new().with_default(tracing::Level::INFO);
    match setting.map(str::trim).filter(|s| !s.is_empty()) {
        None => (default(), None),
        Some(text) => match text.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(e) => (default(), Some(e.to_string())),
        },
    }
}

/// Cuts `s` to at most `max` characters (never bytes), ending with `marker` when it was cut.
pub fn truncate(s: &str, max: usize, marker: &str) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let keep = max.saturating_sub(marker.chars().count());
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(marker);
    out
}

/// Removes secrets from free text: URL query strings (SAS tokens, function keys, webhook tokens),
/// `sig=`/`AccountKey=` values and bearer tokens.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        // Keep scheme://host/path, drop query and the path of webhook URLs (tokens live there).
        let start = pos + 3;
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '>' || c == ')')
            .unwrap_or(tail.len());
        let url = &tail[..end];
        let host_end = url.find('/').unwrap_or(url.len());
        out.push_str(&url[..host_end]);
        if host_end < url.len() {
            out.push_str("/…");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    for key in [
        "sig=",
        "AccountKey=",
        "SharedAccessSignature=",
        "Bearer ",
        "whsec_",
        "code=",
    ] {
        out = mask_after(&out, key);
    }
    out
}

/// Implements `Debug` showing only the fields named, then `..`, so no key or token reaches a log.
macro_rules! debug_fields {
    (@label $field:ident) => { stringify!($field) };
    (@label $outer:ident . $field:ident) => { stringify!($field) };
    ($ty:ident $(<$lt:lifetime>)? { $($field:ident $(. $inner:ident)?),* $(,)? }) => {
        impl std::fmt::Debug for $ty $(<$lt>)? {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(
                        $crate::telemetry::debug_fields!(@label $field $(. $inner)?),
                        &self.$field $(. $inner)?,
                    ))*
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use debug_fields;

fn mask_after(text: &str, key: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(key) {
        out.push_str(&rest[..pos + key.len()]);
        out.push_str("REDACTED");
        let tail = &rest[pos + key.len()..];
        let end = tail
            .find(|c: char| c.is_whitespace() || ";&\"',".contains(c))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{filter_from, redact};
    use tracing::Level;

    /// What `log` writes through a subscriber of the given format into memory.
    fn logged(json: bool, log: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::prelude::*;
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .map_err(|_| std::io::ErrorKind::Other)?
                    .extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let out = buf.clone();
        let writer = move || buf.clone();
        let registry = tracing_subscriber::registry();
        if json {
            let layer = json_subscriber::layer()
                .with_writer(writer)
                .flatten_event(true);
            tracing::subscriber::with_default(registry.with(layer), log);
        } else {
            tracing::subscriber::with_default(registry.with(super::compact_layer(writer)), log);
        }
        let bytes = out.0.lock().expect("buffer").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn a_value_with_a_line_break_cannot_forge_a_log_line() {
        let who = "mallory\n2026-01-01T00:00:00Z  INFO catalogue API: hold released by admin";
        let forged = format!("{who}\r\u{1b}[2K\u{2028}\u{202E}");
        for json in [false, true] {
            let text = logged(json, || {
                let span = tracing::info_span!("invocation", function = %forged);
                let _in = span.enter();
                tracing::warn!(who = %forged, debug = ?forged, "refused {forged}");
            });
            assert_eq!(text.lines().count(), 1, "json={json}: {text}");
            assert!(!text.contains(['\r', '\u{1b}']), "json={json}: {text:?}");
            // JSON strings may hold these as themselves; the text format escapes them too.
            assert!(json || !text.contains(['\u{2028}', '\u{202E}']), "{text:?}");
            assert!(text.contains("mallory"), "{text}");
        }
    }

    #[test]
    fn rust_log_directives_set_levels_per_target() {
        let (f, bad) = filter_from(Some("warn,bastion_recordings::notify=debug"));
        assert!(bad.is_none());
        assert!(f.would_enable("bastion_recordings::notify::deliver", &Level::DEBUG));
        assert!(!f.would_enable("bastion_recordings::notify::deliver", &Level::TRACE));
        assert!(!f.would_enable("bastion_recordings::invocation", &Level::INFO));
        assert!(f.would_enable("hyper", &Level::WARN));
        for unset in [None, Some(""), Some("  ")] {
            let (f, bad) = filter_from(unset);
            assert!(bad.is_none());
            assert!(f.would_enable("any", &Level::INFO) && !f.would_enable("any", &Level::DEBUG));
        }
        let (f, bad) = filter_from(Some("bastion_recordings=loud"));
        assert!(bad.is_some(), "an unknown level is refused");
        assert!(f.would_enable("bastion_recordings", &Level::INFO));
        assert!(!f.would_enable("bastion_recordings", &Level::DEBUG));
    }

    #[test]
    fn secrets_never_survive() {
        let s = redact(
            "GET https://acct.blob.core.windows.net/c/b?sv=2022&sig=abc%2F123 failed; AccountKey=Zm9v; Bearer eyJ.x",
        );
        assert!(
            !s.contains("abc%2F123") && !s.contains("Zm9v") && !s.contains("eyJ.x"),
            "{s}"
        );
        assert!(s.contains("acct.blob.core.windows.net"), "{s}");
        let hook = redact(
            "error sending request for url (https://hooks.slack.com/services/T000/B000/XXXX)",
        );
        assert!(
            !hook.contains("XXXX") && hook.contains("hooks.slack.com"),
            "{hook}"
        );
        assert_eq!(redact("no secrets here"), "no secrets here");
        assert!(!redact("key whsec_MfKQ9r8G").contains("MfKQ9r8G"));
    }
}

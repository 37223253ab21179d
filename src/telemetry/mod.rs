//! Logging setup and the redaction rule for anything that may carry a secret.
//!
//! Logs go to stdout (the host logs every stderr line as an Error). JSON when running under the
//! Functions host (`FUNCTIONS_WORKER_RUNTIME` set) or `LOG_FORMAT=json`, compact otherwise. Error
//! texts from HTTP clients can contain SAS signatures or webhook tokens in URLs: every error chain is
//! passed through [`redact`] before it is logged or returned. Lines are written in batches
//! ([`writer`]).

pub mod json_fields;
pub mod json_line;
pub mod writer;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber and returns the guard of its writer: keep it alive until the
/// process ends (dropping it writes the lines still held; see [`writer`]). Safe to call more than
/// once (later calls install nothing).
pub fn init() -> writer::FlushGuard {
    let (writer, guard) = writer::Batched::stdout();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var_os("FUNCTIONS_WORKER_RUNTIME").is_some()
        || std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false);
    let _ = if json {
        builder
            .fmt_fields(json_fields::AppendJsonFields)
            .event_format(json_line::JsonLine)
            .try_init()
    } else {
        builder.compact().try_init()
    };
    guard
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

/// A log destination tests can read while a writer owns a handle to it.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct TestSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl std::io::Write for TestSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl TestSink {
    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

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

//! Span fields as a JSON object that later `span.record(..)` calls append to.
//!
//! `tracing-subscriber`'s `JsonFields` stores a span's fields as JSON text and, on every later
//! `record`, parses that text into a map, adds the field and serializes it again. The invocation
//! span records five fields after it is opened (event id, type, blob, outcome, duration), so under
//! the Functions host (JSON logs) that round trip ran five times per invocation: 14.9k/s against
//! 18.5k/s with the plain-text format (issue #2). Here a record appends `,"name":value` before the
//! closing brace instead. A name recorded twice appears twice; JSON readers, including the JSON
//! event formatter that embeds these fields, keep the last one, which is the value it had last.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormattedFields;
use tracing_subscriber::fmt::format::{FormatFields, Writer};

/// [`FormatFields`] producing a JSON object, appended to in place (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct AppendJsonFields;

impl<'w> FormatFields<'w> for AppendJsonFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut out = String::from("{");
        fields.record(&mut Entries::continuing(&mut out));
        out.push('}');
        writer.write_str(&out)
    }

    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        if current.fields.is_empty() {
            current.fields.push('{');
        } else if current.fields.ends_with('}') {
            current.fields.pop();
        } else {
            // Not text this formatter wrote: start over rather than emit broken JSON.
            current.fields.clear();
            current.fields.push('{');
        }
        fields.record(&mut Entries::continuing(&mut current.fields));
        current.fields.push('}');
        Ok(())
    }
}

/// Appends `"name":value` entries, comma-separated, to an object being written.
pub(super) struct Entries<'a> {
    out: &'a mut String,
}

impl<'a> Entries<'a> {
    /// Entries for an object whose text so far is `out` (`{`, or `{` and entries).
    pub(super) fn continuing(out: &'a mut String) -> Self {
        Self { out }
    }

    fn key(&mut self, field: &Field) {
        if !self.out.ends_with('{') {
            self.out.push(',');
        }
        // Field names are Rust identifiers (possibly dotted): nothing in them needs escaping.
        let name = field.name();
        self.out.push('"');
        self.out.push_str(name.strip_prefix("r#").unwrap_or(name));
        self.out.push_str("\":");
    }
}

/// Writes `text` as a JSON string, escaping in place as `serde_json` does (short escapes for
/// `"` `\\` and the usual controls, `\\u00XX` for the other controls; everything else verbatim).
/// Runs about twenty times per invocation line, so no intermediate `String` per value.
pub(crate) fn string(out: &mut String, text: &str) {
    out.push('"');
    escape_into(out, text);
    out.push('"');
}

/// Appends `text` JSON-escaped (without quotes): runs of plain bytes are found eight at a time
/// and copied whole.
fn escape_into(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut plain = 0;
    while let Some(at) = next_escape(bytes, plain) {
        // Every byte escaped here is ASCII, so `at` is a char boundary.
        out.push_str(&text[plain..at]);
        match bytes[at] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        plain = at + 1;
    }
    out.push_str(&text[plain..]);
}

/// The position of the first byte at or after `from` that JSON must escape (`"`, `\\`, controls).
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Standard word tricks: a byte of `w` is zero iff `(w - ONES) & !w & HIGH` marks it (no marks
    // at all when none is); "below 0x20" likewise with `0x20 * ONES`. Exact about *whether* a word
    // holds one, so a marked word is then searched byte by byte.
    let needs = |w: u64| {
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        (w.wrapping_sub(0x20 * ONES) & !w & HIGH)
            | zero(w ^ (u64::from(b'"') * ONES))
            | zero(w ^ (u64::from(b'\\') * ONES))
    };
    let escapes = |b: &u8| *b < 0x20 || *b == b'"' || *b == b'\\';
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        if needs(word) != 0
            && let Some(p) = chunk.iter().position(escapes)
        {
            return Some(i + p);
        }
        i += 8;
    }
    bytes.get(i..)?.iter().position(escapes).map(|p| i + p)
}

/// A `fmt::Write` that JSON-escapes what is written to it: `Display`/`Debug` values are escaped as
/// they are formatted, without a `String` of their own.
struct Escaping<'a>(&'a mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.0, s);
        Ok(())
    }
}

impl Visit for Entries<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        string(self.out, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.out.push_str(if value { "true" } else { "false" });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        // JSON has no NaN or infinities.
        match serde_json::Number::from_f64(value) {
            Some(n) => {
                let _ = write!(self.out, "{n}");
            }
            None => self.out.push_str("null"),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        self.out.push('"');
        let _ = write!(Escaping(self.out), "{value:?}");
        self.out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The JSON lines an invocation-shaped span produces with these fields, as the app logs them.
    fn lines(body: impl FnOnce()) -> Vec<Value> {
        let sink = crate::telemetry::TestSink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .fmt_fields(AppendJsonFields)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, body);
        sink.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn fields_recorded_later_join_the_span_object_with_their_types() {
        let out = lines(|| {
            let span = tracing::info_span!(
                "invocation",
                function = "RecordingCreated",
                invocation.id = %"abc",
                event.id = tracing::field::Empty,
                outcome = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
                r#type = tracing::field::Empty,
            );
            let _entered = span.enter();
            tracing::info!("before");
            span.record("event.id", "e-1 \"quoted\"\n\u{e9}");
            span.record("outcome", "processed");
            span.record("duration_ms", 1.5);
            span.record("type", true);
            tracing::info!(count = 3_u64, "after");
        });
        assert_eq!(
            out[0]["span"],
            json!({"function": "RecordingCreated", "invocation.id": "abc", "name": "invocation"})
        );
        assert_eq!(
            out[1]["span"],
            json!({"function": "RecordingCreated", "invocation.id": "abc",
                "event.id": "e-1 \"quoted\"\n\u{e9}", "outcome": "processed",
                "duration_ms": 1.5, "type": true, "name": "invocation"})
        );
        assert_eq!(out[1]["count"], 3);
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let mut every_ascii: String = (0u8..=0x7f).map(char::from).collect();
        every_ascii.push_str("é ü \u{2028} \u{1F600} \u{7f}\u{80}");
        for text in [
            every_ascii.as_str(),
            "",
            "plain",
            "\"",
            "a\\b",
            "\u{0}\u{1f}x",
        ] {
            let mut out = String::from("x");
            string(&mut out, text);
            let expected = serde_json::to_string(text).unwrap_or_default();
            assert_eq!(out, format!("x{expected}"), "{text:?}");
        }
        // Every escape at every offset of a word, among plain ASCII and multi-byte text.
        for at in 0..24 {
            for special in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
                let mut text: String = "ab\u{e9}cdefghij\u{1F600}klmnopqrs"
                    .chars()
                    .take(at)
                    .collect();
                text.push(special);
                text.push_str("tail \u{7f} end");
                let mut out = String::new();
                string(&mut out, &text);
                assert_eq!(
                    out,
                    serde_json::to_string(&text).unwrap_or_default(),
                    "{text:?}"
                );
            }
        }
        // Formatted values are escaped as they are written.
        let mut out = String::new();
        let _ = write!(Escaping(&mut out), "{:?}", "q\"\n");
        assert_eq!(out, r#"\"q\\\"\\n\""#);
    }

    #[test]
    fn spans_without_fields_and_non_finite_numbers_stay_valid_json() {
        let out = lines(|| {
            let span = tracing::info_span!("bare", x = tracing::field::Empty);
            let _entered = span.enter();
            span.record("x", f64::NAN);
            span.record("x", -7_i64);
            tracing::info!("inside");
        });
        // A field recorded twice keeps its last value.
        assert_eq!(out[0]["span"], json!({"name": "bare", "x": -7}));
    }
}

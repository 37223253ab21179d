//! One JSON object per event, in the shape of `tracing-subscriber`'s JSON format with
//! `flatten_event(true)`, `with_current_span(true)` and `with_span_list(false)`:
//! `{"timestamp","level","message",<event fields>,"target","span":{<span fields>,"name"}}`.
//!
//! Why our own: the stock formatter parses the current span's stored fields back into a map and
//! serializes them again on every event. With [`AppendJsonFields`] those fields already are a JSON
//! object, so the span is spliced in as text. Under the Functions host this line is written once per
//! invocation (issue #2's throughput figures).

use std::fmt::{self, Write as _};

use time::OffsetDateTime;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use super::json_fields::{AppendJsonFields, Entries, string};

/// The event formatter (see the module docs); pair it with [`AppendJsonFields`].
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonLine;

impl<S> FormatEvent<S, AppendJsonFields> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, AppendJsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut out = String::with_capacity(512);
        out.push_str("{\"timestamp\":\"");
        timestamp(&mut out, OffsetDateTime::now_utc());
        out.push_str("\",\"level\":\"");
        out.push_str(meta.level().as_str());
        out.push('"');
        event.record(&mut Entries::continuing(&mut out));
        out.push_str(",\"target\":");
        string(&mut out, meta.target());
        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            out.push_str(",\"span\":{");
            let extensions = span.extensions();
            let fields = extensions
                .get::<FormattedFields<AppendJsonFields>>()
                .map(|f| f.fields.as_str())
                .and_then(|f| f.strip_prefix('{')?.strip_suffix('}'))
                .unwrap_or_default();
            out.push_str(fields);
            if !fields.is_empty() {
                out.push(',');
            }
            out.push_str("\"name\":");
            string(&mut out, span.name());
            out.push('}');
        }
        out.push_str("}\n");
        writer.write_str(&out)
    }
}

/// RFC 3339 UTC with microseconds, as the stock formatter writes it.
fn timestamp(out: &mut String, t: OffsetDateTime) {
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    );
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use time::macros::datetime;

    use super::*;

    fn lines(body: impl FnOnce()) -> Vec<String> {
        let sink = crate::telemetry::TestSink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(AppendJsonFields)
            .event_format(JsonLine)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, body);
        sink.text().lines().map(str::to_owned).collect()
    }

    #[test]
    fn an_event_in_a_span_has_the_stock_shape_with_the_span_spliced_in() {
        let out = lines(|| {
            let span = tracing::info_span!(
                "invocation",
                function = "RecordingCreated",
                outcome = tracing::field::Empty
            );
            let _entered = span.enter();
            span.record("outcome", "processed");
            tracing::warn!(summary = %"a \"b\"\n", n = 2_u64, "invocation processed");
        });
        let v: Value = serde_json::from_str(&out[0]).expect("one JSON object per line");
        let keys: Vec<&str> = v
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for key in [
            "timestamp",
            "level",
            "message",
            "summary",
            "n",
            "target",
            "span",
        ] {
            assert!(keys.contains(&key), "{key} missing: {}", out[0]);
        }
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["message"], "invocation processed");
        assert_eq!(v["summary"], "a \"b\"\n");
        assert_eq!(v["n"], 2);
        assert_eq!(
            v["span"],
            json!({"function": "RecordingCreated", "outcome": "processed", "name": "invocation"})
        );
        let ts = v["timestamp"].as_str().unwrap_or_default();
        assert!(
            time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok(),
            "{ts}"
        );
    }

    #[test]
    fn events_outside_spans_and_spans_without_fields() {
        let out = lines(|| {
            tracing::info!("plain");
            let span = tracing::info_span!("bare");
            let _entered = span.enter();
            tracing::info!("inside");
        });
        let first: Value = serde_json::from_str(&out[0]).expect("json");
        assert!(first.get("span").is_none(), "{}", out[0]);
        let second: Value = serde_json::from_str(&out[1]).expect("json");
        assert_eq!(second["span"], json!({"name": "bare"}));
    }

    #[test]
    fn timestamps_are_rfc3339_with_microseconds() {
        let mut s = String::new();
        timestamp(&mut s, datetime!(2025-03-04 05:06:07.089_012_345 UTC));
        assert_eq!(s, "2025-03-04T05:06:07.089012Z");
    }
}

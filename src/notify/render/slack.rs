//! Slack incoming-webhook payload: a `text` fallback (notifications, screen readers) plus Block Kit.
//!
//! Outside values travel only in `plain_text` fields (mrkdwn cannot escape `*`, `_`, `~`, `` ` ``),
//! their directional controls shown ([`show_bidi_controls`]); `&`, `<`, `>` are escaped
//! everywhere, after any cut, so no entity is split. Block Kit's limits are respected.

use serde_json::{Value, json};

use super::content::{CUT, Content, MAX_FACT_CHARS};
use crate::telemetry::{text::show_bidi_controls, truncate};

/// Most fields Slack accepts in one section block.
const MAX_FIELDS: usize = 10;
/// Longest text of one section field.
const MAX_FIELD_CHARS: usize = 2000;
/// Longest header text.
const MAX_HEADER_CHARS: usize = 150;
/// Slack's limit for a `context` element's and a `section`'s text (characters).
const MAX_TEXT_CHARS: usize = 3000;
/// Largest body sent (bytes): Slack documents per-block limits (50 blocks, 3,000 characters of
/// section or context text, 2,000 per field, 150 of header), not a body size; within those the
/// body stays below this bound.
pub const MAX_BODY: usize = 1024 * 1024;

/// The request body for `c`.
pub fn render(c: &Content) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": escaped_within(&c.title, MAX_HEADER_CHARS), "emoji": false},
    })];
    for chunk in c.facts.chunks(MAX_FIELDS / 2) {
        let fields: Vec<Value> = chunk
            .iter()
            .flat_map(|f| {
                let value =
                    show_bidi_controls(&truncate(&f.value, MAX_FACT_CHARS, CUT)).into_owned();
                let value = escaped_within(&value, MAX_FIELD_CHARS);
                [mrkdwn(format!("*{}*", escape(f.label))), plain(value)]
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [plain(escaped_within(&format!("{} · {} · {} · id {}", c.severity.as_str(), c.kind, c.time, c.id), MAX_TEXT_CHARS))],
    }));
    let buttons: Vec<Value> = c
        .links
        .iter()
        .filter(|l| l.url.len() <= 3000)
        .map(|l| json!({"type": "button", "text": {"type": "plain_text", "text": truncate(l.title, 75, CUT)}, "url": l.url}))
        .collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    json!({
        "text": escape(&format!("[{}] {}", c.severity.as_str(), truncate(&c.title, MAX_FACT_CHARS, CUT))),
        "blocks": blocks,
    })
}

fn mrkdwn(text: String) -> Value {
    json!({"type": "mrkdwn", "text": text, "verbatim": true})
}

/// Text Slack shows as it is (an empty value would be refused: Slack needs at least one character).
fn plain(text: String) -> Value {
    let text = if text.is_empty() { "-" } else { &text };
    json!({"type": "plain_text", "text": text, "emoji": false})
}

/// `s` cut (whole characters, [`CUT`] included) to at most `max` characters, then escaped.
fn escaped_within(s: &str, max: usize) -> String {
    let full = escape(s);
    if full.chars().count() <= max {
        return full;
    }
    let room = max.saturating_sub(CUT.chars().count());
    let (mut out, mut len) = (String::new(), 0);
    for ch in s.chars() {
        let e = escape(ch.encode_utf8(&mut [0; 4]));
        let n = e.chars().count();
        if len + n > room {
            break;
        }
        out.push_str(&e);
        len += n;
    }
    out.push_str(CUT);
    out
}

/// Slack's three control characters in `mrkdwn` and `text`.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::sample;
    use super::super::{ContentOptions, Fact};
    use super::*;

    #[test]
    fn block_kit_shape() {
        let p = render(&Content::of(&sample(), &ContentOptions::default()));
        assert_eq!(p["text"], "[warning] Session without a recording");
        let blocks = p["blocks"].as_array().expect("blocks");
        let types: Vec<&str> = blocks.iter().filter_map(|b| b["type"].as_str()).collect();
        assert_eq!(types, ["header", "section", "context", "actions"]);
        assert_eq!(blocks[0]["text"]["type"], "plain_text");
        assert_eq!(
            (&blocks[1]["fields"][2], &blocks[1]["fields"][3]),
            (
                &json!({"type": "mrkdwn", "text": "*VM*", "verbatim": true}),
                &json!({"type": "plain_text", "text": "vm-app-01", "emoji": false})
            )
        );
        assert_eq!(blocks[3]["elements"][0]["type"], "button");
        assert!(
            blocks[3]["elements"][0]["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://portal.azure.com/"))
        );
    }

    #[test]
    fn limits_and_escaping() {
        let mut c = Content::of(&sample(), &ContentOptions::default());
        c.title = format!("<!channel> & {}", "x".repeat(300));
        c.facts = (0..23)
            .map(|i| Fact {
                key: "user",
                label: "User",
                value: format!("<@U{i}>"),
                raw: json!(null),
            })
            .collect();
        c.links.clear();
        let p = render(&c);
        let blocks = p["blocks"].as_array().expect("blocks");
        assert!(
            blocks[0]["text"]["text"]
                .as_str()
                .is_some_and(|t| t.chars().count() <= 150 && t.ends_with(CUT))
        );
        let sections: Vec<&Value> = blocks.iter().filter(|b| b["type"] == "section").collect();
        assert_eq!(sections.len(), 5, "23 facts, 5 a section");
        assert!(
            sections
                .iter()
                .all(|s| s["fields"].as_array().is_some_and(|f| f.len() <= 10))
        );
        assert!(!p.to_string().contains("<!channel>") && !p.to_string().contains("<@U"));
        assert!(
            p["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("[warning] &lt;!channel&gt; &amp;"))
        );
        assert!(
            !blocks.iter().any(|b| b["type"] == "actions"),
            "no links, no actions block"
        );
        assert_eq!(
            escaped_within(&"&".repeat(400), 150).chars().count(),
            28 * 5 + 6,
            "28 entities and the marker"
        );
        assert_eq!(escaped_within("short & sweet", 150), "short &amp; sweet");
    }

    #[test]
    fn long_values_are_cut_before_escaping_and_every_text_is_verbatim() {
        let mut n = sample();
        n.data["user"] = json!("&".repeat(3000));
        let p = render(&Content::of(&n, &ContentOptions::default()));
        let fields = p["blocks"][1]["fields"].as_array().expect("fields");
        let at = fields
            .iter()
            .position(|f| f["text"] == "*User*")
            .expect("user label");
        assert_eq!(
            fields[at + 1]["type"],
            "plain_text",
            "the value is shown literally"
        );
        let value = fields[at + 1]["text"].as_str().expect("user value");
        assert!(value.chars().count() <= 2000, "{}", value.chars().count());
        let entities = value.trim_end_matches(CUT);
        assert!(value.ends_with(CUT));
        assert_eq!(
            entities.replace("&amp;", ""),
            "",
            "no entity split: {value}"
        );
        let texts = p.to_string();
        assert_eq!(
            texts.matches("\"type\":\"mrkdwn\"").count(),
            texts.matches("\"verbatim\":true").count()
        );
    }

    #[test]
    fn values_never_travel_as_mrkdwn() {
        let mut n = sample();
        n.data["user"] = json!("**root** _it_ ~s~ `c` https://evil.example/login");
        let p = render(&Content::of(&n, &ContentOptions::default()));
        let mut mrkdwn_texts = Vec::new();
        for b in p["blocks"].as_array().expect("blocks") {
            for f in b["fields"].as_array().into_iter().flatten() {
                if f["type"] == "mrkdwn" {
                    mrkdwn_texts.push(f["text"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
        assert!(!mrkdwn_texts.is_empty());
        for t in &mrkdwn_texts {
            assert!(
                t.starts_with('*') && t.ends_with('*') && !t.contains("root"),
                "only static labels are mrkdwn: {t}"
            );
        }
        assert!(p.to_string().contains("**root** _it_"), "shown literally");
    }
}

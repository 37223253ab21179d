//! Slack incoming-webhook payload: a `text` fallback (notifications, screen readers) plus Block Kit.
//!
//! Block Kit limits respected here: header text ≤ 150 characters (cut before escaping), ≤ 10 fields per section, each
//! ≤ 2000 characters, button text ≤ 75, button URL ≤ 3000. `mrkdwn` text escapes `&`, `<`, `>` so
//! data cannot inject links or mentions (`<!channel>`).

use serde_json::{Value, json};

use super::{Content, truncate};

/// Most fields Slack accepts in one section block.
const MAX_FIELDS: usize = 10;

/// The request body for `c`.
pub fn render(c: &Content) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": header_text(&c.title), "emoji": false},
    })];
    for chunk in c.facts.chunks(MAX_FIELDS) {
        let fields: Vec<Value> = chunk
            .iter()
            .map(|f| json!({"type": "mrkdwn", "text": truncate(&format!("*{}*\n{}", escape(f.label), escape(&f.value)), 2000)}))
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": escape(&format!("{} · {} · {} · id {}", c.severity_word(), c.kind, c.time, c.id))}],
    }));
    let buttons: Vec<Value> = c
        .links
        .iter()
        .filter(|l| l.url.len() <= 3000)
        .map(|l| json!({"type": "button", "text": {"type": "plain_text", "text": truncate(l.title, 75)}, "url": l.url}))
        .collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    json!({
        "text": escape(&format!("[{}] {}", c.severity_word(), c.title)),
        "blocks": blocks,
    })
}

/// The title cut so that, escaped, it stays within 150 characters (cutting before escaping never
/// splits an entity).
fn header_text(title: &str) -> String {
    let full = escape(title);
    if full.chars().count() <= 150 {
        return full;
    }
    let (mut out, mut len) = (String::new(), 0);
    for ch in title.chars() {
        let e = escape(ch.encode_utf8(&mut [0; 4]));
        let n = e.chars().count();
        if len + n > 149 {
            break;
        }
        out.push_str(&e);
        len += n;
    }
    out.push('…');
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
            blocks[1]["fields"][1],
            json!({"type": "mrkdwn", "text": "*VM*\nvm-app-01"})
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
            })
            .collect();
        c.links.clear();
        let p = render(&c);
        let blocks = p["blocks"].as_array().expect("blocks");
        assert!(
            blocks[0]["text"]["text"]
                .as_str()
                .is_some_and(|t| t.chars().count() <= 150 && t.ends_with('…'))
        );
        let sections: Vec<&Value> = blocks.iter().filter(|b| b["type"] == "section").collect();
        assert_eq!(sections.len(), 3);
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
            header_text(&"&".repeat(400)).chars().count(),
            150 - 4,
            "29 entities and the ellipsis"
        );
        assert_eq!(header_text("short & sweet"), "short &amp; sweet");
    }
}

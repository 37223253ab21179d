//! Teams Workflows payload: one Adaptive Card 1.4 in the `message` envelope.
//!
//! Workflows take about 28 KB, counted in UTF-16 by some reports: facts are dropped from the end
//! until `2 × UTF-16 units` fit. Teams renders markdown in every `TextBlock`, so outside values
//! pass [`literal`] after [`show_bidi_controls`], each in its own block (a `FactSet` clips long
//! ids). Times use `{{DATE()}}`/`{{TIME()}}` (the reader's zone); no yellow (1.5:1 contrast).

use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::content::{CUT, Content, Fact, MAX_FACT_CHARS};
use super::markdown::literal;
use crate::telemetry::{text::show_bidi_controls, truncate};

/// Size limit for the whole request body, measured as 2 bytes per UTF-16 unit.
pub const MAX_PAYLOAD: usize = 28 * 1024;

/// Longest title shown before the size guard has to shorten it further.
const MAX_TITLE_CHARS: usize = 200;

/// The request body for `c`, always under [`MAX_PAYLOAD`].
pub fn render(c: &Content) -> Value {
    let mut facts: Vec<&Fact> = c.facts.iter().collect();
    let mut dropped = 0usize;
    let mut title = truncate(&c.title, MAX_TITLE_CHARS, CUT);
    loop {
        let payload = envelope(card(c, &title, &facts, dropped, true));
        if size(&payload) <= MAX_PAYLOAD {
            return payload;
        }
        if facts.pop().is_some() {
            dropped += 1;
        } else if title.chars().count() > 80 {
            title = truncate(&title, 80, CUT);
        } else {
            // Only links and fixed text remain; drop links (URLs are bounded but unbounded in number).
            return envelope(card(c, &title, &facts, dropped, false));
        }
    }
}

/// `2 × UTF-16 code units` of the serialized payload: the conservative reading of the limit.
pub fn size(payload: &Value) -> usize {
    payload.to_string().encode_utf16().count() * 2
}

fn envelope(card: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// A value as markdown: an RFC 3339 UTC second as Teams' date and time functions, anything else
/// cut to [`MAX_FACT_CHARS`] (before escaping, so no escape is split) and shown literally.
fn shown(value: &str) -> String {
    // The functions accept exactly `YYYY-MM-DDThh:mm:ssZ` (or an offset); anything else is text.
    let is_utc_second =
        value.len() == 20 && value.ends_with('Z') && OffsetDateTime::parse(value, &Rfc3339).is_ok();
    if is_utc_second {
        format!("{{{{DATE({value}, SHORT)}}}} {{{{TIME({value})}}}}")
    } else {
        literal(&show_bidi_controls(&truncate(value, MAX_FACT_CHARS, CUT)))
    }
}

fn card(c: &Content, title: &str, facts: &[&Fact], dropped: usize, with_links: bool) -> Value {
    let colour = match c.severity.as_str() {
        "critical" => "Attention",
        _ => "Default",
    };
    let mut body = vec![
        json!({"type": "TextBlock", "text": literal(title), "weight": "Bolder", "size": "Medium", "wrap": true, "color": colour}),
        json!({"type": "TextBlock", "text": format!("{} · {} · {}", c.severity.as_str(), literal(&truncate(&c.kind, MAX_TITLE_CHARS, CUT)), shown(&c.time)), "isSubtle": true, "spacing": "None", "wrap": true}),
    ];
    for f in facts {
        body.push(json!({"type": "TextBlock", "text": literal(f.label), "weight": "Bolder", "wrap": true, "spacing": "Small"}));
        body.push(
            json!({"type": "TextBlock", "text": shown(&f.value), "wrap": true, "spacing": "None"}),
        );
    }
    if dropped > 0 {
        body.push(json!({"type": "TextBlock", "text": format!("{dropped} more field(s) left out to fit the Teams size limit"), "isSubtle": true, "wrap": true}));
    }
    body.push(json!({"type": "TextBlock", "text": format!("Notification id {}", literal(&c.id)), "isSubtle": true, "size": "Small", "wrap": true}));
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if with_links && !c.links.is_empty() {
        let actions: Vec<Value> = c
            .links
            .iter()
            .map(|l| json!({"type": "Action.OpenUrl", "title": l.title, "url": l.url}))
            .collect();
        card["actions"] = Value::Array(actions);
    }
    card
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{hostile, sample};
    use super::super::{ContentOptions, Fact};
    use super::*;

    fn texts(p: &Value) -> Vec<String> {
        p["attachments"][0]["content"]["body"]
            .as_array()
            .expect("body")
            .iter()
            .filter_map(|b| b["text"].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn card_shape() {
        let opts = ContentOptions {
            catalogue_base_url: Some("https://f.example.net/api".into()),
            ..Default::default()
        };
        let p = render(&Content::of(&sample(), &opts));
        assert_eq!(p["type"], "message");
        let att = &p["attachments"][0];
        assert_eq!(
            att["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = &att["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["text"], "Session without a recording");
        let body = card["body"].as_array().expect("body");
        assert!(
            body.iter()
                .all(|b| b["type"] == "TextBlock" && b["wrap"] == true)
        );
        assert_eq!(card["body"][2]["text"], "Recording");
        assert_eq!(card["body"][3]["text"], r"2025\-03\-14\~abc");
        let actions = card["actions"].as_array().expect("actions");
        assert_eq!(actions.len(), 2);
        assert!(actions.iter().all(|a| a["type"] == "Action.OpenUrl"));
        assert!(!p.to_string().contains("${"), "no templating");
        assert!(
            !p.to_string().contains("alice@example.com"),
            "thin by default"
        );
    }

    #[test]
    fn outside_values_are_literal_markdown() {
        let p = render(&Content::of(&hostile(), &ContentOptions::default()));
        let all = texts(&p);
        // Every `[`, `*`, `_`, `<` and `>` of the hostile values is escaped; only ours are bare.
        for t in &all {
            let bare = t
                .char_indices()
                .filter(|(i, c)| "[]*_<>".contains(*c) && !t[..*i].ends_with('\\'))
                .count();
            assert_eq!(bare, 0, "{t}");
        }
        assert!(all.iter().any(|t| t.contains(r"\*\*root\*\* \[reset")));
    }

    #[test]
    fn titles_are_readable_and_times_are_formatted_by_teams() {
        let p = render(&Content::of(&sample(), &ContentOptions::default()));
        let card = &p["attachments"][0]["content"];
        assert_eq!(card["body"][0]["color"], "Default", "warning is not yellow");
        assert!(card["body"][1]["text"].as_str().is_some_and(|t| {
            t.ends_with("{{DATE(2025-03-14T09:42:17Z, SHORT)}} {{TIME(2025-03-14T09:42:17Z)}}")
        }));
        let mut critical = sample();
        critical.severity = crate::notify::Severity::Critical;
        let p = render(&Content::of(&critical, &ContentOptions::default()));
        assert_eq!(
            p["attachments"][0]["content"]["body"][0]["color"],
            "Attention"
        );
        assert_eq!(
            shown("2025-03-14T09:42:17.5Z"),
            r"2025\-03\-14T09\:42\:17\.5Z"
        );
    }

    #[test]
    fn oversized_content_is_cut_to_fit() {
        let mut c = Content::of(&sample(), &ContentOptions::default());
        // 100 facts of 500 non-ASCII characters: ~100 KB in UTF-16 terms.
        c.facts = (0..100)
            .map(|i| Fact {
                key: "user",
                label: "User",
                value: format!("{i}{}", "é".repeat(499)),
                raw: json!(null),
            })
            .collect();
        c.title = "T".repeat(5000);
        let p = render(&c);
        assert!(size(&p) <= MAX_PAYLOAD, "{}", size(&p));
        let all = texts(&p);
        let kept = all
            .iter()
            .filter(|t| t.starts_with(|ch: char| ch.is_ascii_digit()) && t.contains('é'))
            .count();
        assert!(kept > 5 && kept < 100, "{kept}");
        let note = all.iter().find(|t| t.contains("left out")).expect("note");
        assert!(note.starts_with(&format!("{} more", 100 - kept)));
        let small = render(&Content::of(&sample(), &ContentOptions::default()));
        assert!(!small.to_string().contains("left out"));
    }
}

//! Teams Workflows payload: one Adaptive Card 1.4 in the `message` envelope.
//!
//! Workflows accept Adaptive Cards only, `Action.OpenUrl` (never `Action.Submit`), no `${…}`
//! templating, and about 28 KB per message — counted, by some reports, in UTF-16, which halves the
//! limit for non-ASCII text. The guard therefore measures `2 × UTF-16 units` and drops facts from
//! the end (saying how many) until the payload fits.

use serde_json::{Value, json};

use super::{Content, truncate};

/// Size limit for the whole request body, measured as 2 bytes per UTF-16 unit.
pub const MAX_PAYLOAD: usize = 28 * 1024;

/// The request body for `c`, always under [`MAX_PAYLOAD`].
pub fn render(c: &Content) -> Value {
    let mut facts: Vec<Value> = c
        .facts
        .iter()
        .map(|f| json!({"title": f.label, "value": f.value}))
        .collect();
    let mut dropped = 0usize;
    let mut title = c.title.clone();
    loop {
        let payload = envelope(card(c, &title, &facts, dropped));
        if size(&payload) <= MAX_PAYLOAD {
            return payload;
        }
        if facts.pop().is_some() {
            dropped += 1;
        } else if title.chars().count() > 80 {
            title = truncate(&title, 80);
        } else {
            // Only links and fixed text remain; drop links (URLs are bounded but unbounded in number).
            return envelope(card(
                &Content {
                    links: Vec::new(),
                    ..c.clone()
                },
                &title,
                &facts,
                dropped,
            ));
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

fn card(c: &Content, title: &str, facts: &[Value], dropped: usize) -> Value {
    let colour = match c.severity_word() {
        "critical" => "Attention",
        "warning" => "Warning",
        _ => "Default",
    };
    let mut body = vec![
        json!({"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true, "color": colour}),
        json!({"type": "TextBlock", "text": format!("{} · {} · {}", c.severity_word(), c.kind, c.time), "isSubtle": true, "spacing": "None", "wrap": true}),
    ];
    if !facts.is_empty() {
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    if dropped > 0 {
        body.push(json!({"type": "TextBlock", "text": format!("{dropped} more field(s) left out to fit the Teams size limit"), "isSubtle": true, "wrap": true}));
    }
    body.push(json!({"type": "TextBlock", "text": format!("Notification id {}", c.id), "isSubtle": true, "size": "Small", "wrap": true}));
    let actions: Vec<Value> = c
        .links
        .iter()
        .map(|l| json!({"type": "Action.OpenUrl", "title": l.title, "url": l.url}))
        .collect();
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if !actions.is_empty() {
        card["actions"] = Value::Array(actions);
    }
    card
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::sample;
    use super::super::{ContentOptions, Fact};
    use super::*;

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
        assert_eq!(card["body"][0]["color"], "Warning");
        assert_eq!(card["body"][2]["type"], "FactSet");
        assert_eq!(
            card["body"][2]["facts"][0],
            json!({"title": "Recording", "value": "2025-03-14~abc"})
        );
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
    fn oversized_content_is_cut_to_fit() {
        let mut c = Content::of(&sample(), &ContentOptions::default());
        // 100 facts of 500 non-ASCII characters: ~100 KB in UTF-16 terms.
        c.facts = (0..100)
            .map(|i| Fact {
                key: "user",
                label: "User",
                value: format!("{i}{}", "é".repeat(499)),
            })
            .collect();
        c.title = "T".repeat(5000);
        let p = render(&c);
        assert!(size(&p) <= MAX_PAYLOAD, "{}", size(&p));
        let body = p["attachments"][0]["content"]["body"]
            .as_array()
            .expect("body")
            .clone();
        let kept = body
            .iter()
            .find(|b| b["type"] == "FactSet")
            .map_or(0, |f| f["facts"].as_array().map_or(0, Vec::len));
        assert!(kept > 5 && kept < 100, "{kept}");
        let note = body
            .iter()
            .find(|b| b["text"].as_str().is_some_and(|t| t.contains("left out")))
            .expect("note");
        assert!(
            note["text"]
                .as_str()
                .is_some_and(|t| t.starts_with(&format!("{} more", 100 - kept)))
        );
        let small = render(&Content::of(&sample(), &ContentOptions::default()));
        assert!(!small.to_string().contains("left out"));
    }
}

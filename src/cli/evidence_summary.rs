//! What `handler evidence` prints after writing a pack: a few plain lines (where it is, the
//! period, the headline figures, the notes, how to check it); `--json` prints the JSON instead.

use serde_json::Value;

use crate::evidence::manifest::Manifest;

/// The headline figures, in the report's order: `(name in figures.total, words)`.
const HEADLINE: [(&str, &str); 6] = [
    ("sessions", "sessions"),
    ("recorded", "recorded"),
    ("unrecorded", "unrecorded"),
    ("failedLogins", "failed logins"),
    ("reviewed", "reviewed"),
    ("recordings", "recordings"),
];

/// The pack written to `dir`, in a few lines.
pub fn summary(dir: &str, m: &Manifest) -> String {
    let host = m
        .period
        .bastion
        .as_deref()
        .map_or_else(String::new, |b| format!(", Bastion host {b}"));
    let mut out = format!(
        "Evidence pack for {} to {}{host} written to {dir}: {} files, signed.\n",
        m.period.from,
        m.period.to,
        m.files.len() + 2,
    );
    let total = &m.figures["total"];
    let figures: Vec<String> = HEADLINE
        .iter()
        .filter_map(|(k, words)| {
            total
                .get(*k)
                .and_then(Value::as_u64)
                .map(|n| format!("{n} {words}"))
        })
        .collect();
    if !figures.is_empty() {
        out.push_str(&format!("Figures: {}.\n", figures.join(", ")));
    }
    for note in &m.notes {
        out.push_str(&format!("Note: {note}\n"));
    }
    out.push_str(&format!(
        "Check it with `handler evidence verify {dir} --public-key {}`; the files and figures as JSON: add --json.\n",
        m.public_key
    ));
    out
}

/// The JSON `--json` prints: the directory, the key, the files, the figures and the notes.
pub fn json(dir: &str, m: &Manifest) -> Value {
    let files: Vec<_> = m
        .files
        .iter()
        .map(|f| serde_json::json!({"name": f.name, "size": f.size, "rows": f.rows}))
        .collect();
    serde_json::json!({
        "dir": dir, "publicKey": m.public_key, "files": files,
        "total": m.figures["total"], "notes": m.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_plain_lines_with_the_json_behind_a_flag() {
        let m: Manifest = serde_json::from_value(serde_json::json!({
            "format": "f", "generator": {"name": "handler", "version": "0"},
            "period": {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
            "generatedAt": "2026-11-02T00:00:00Z", "publicKey": "KEY", "sources": {},
            "figures": {"total": {"sessions": 6, "recorded": 4, "unrecorded": 2, "failedLogins": 0,
                "reviewed": 1, "recordings": 6, "perDay": {"2026-10-01": 6}}},
            "files": [{"name": "sessions.csv", "sha256": "00", "size": 10, "rows": 6}],
            "notes": ["report.pdf was not asked for"],
        }))
        .expect("manifest");
        let text = summary("out/pack", &m);
        assert!(text.lines().count() <= 5, "{text}");
        assert!(
            text.starts_with(
                "Evidence pack for 2026-10-01T00:00:00Z to 2026-11-01T00:00:00Z written to out/pack"
            ),
            "{text}"
        );
        assert!(text.contains("Figures: 6 sessions, 4 recorded, 2 unrecorded, 0 failed logins, 1 reviewed, 6 recordings."), "{text}");
        assert!(
            text.contains("Note: report.pdf was not asked for"),
            "{text}"
        );
        assert!(!text.contains('{'), "no JSON: {text}");
        assert!(
            text.contains("`handler evidence verify out/pack --public-key KEY`"),
            "the keyed form only: {text}"
        );
        assert_eq!(json("out/pack", &m)["total"]["sessions"], 6);
    }
}

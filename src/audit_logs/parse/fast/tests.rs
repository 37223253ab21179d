//! Differential tests: whenever the scanner accepts a line, serde must accept it and yield the same
//! record; the scanner must accept the plain shapes the tail sees every minute.

use super::*;

fn fixture_lines() -> Vec<Vec<u8>> {
    let text = std::fs::read(format!(
        "{}/tests/fixtures/auditlogs/PT1H.sample.jsonl",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    text.split(|b| *b == b'\n')
        .map(|l| super::super::trim_line(l).to_vec())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Fast path result must equal serde's whenever the fast path answers.
fn agrees(line: &[u8]) -> bool {
    let Some(fast) = record(line) else {
        return false;
    };
    let serde: Result<Record<'_>, _> = serde_json::from_slice(line);
    match serde {
        Ok(slow) => assert_eq!(fast, slow, "{}", String::from_utf8_lossy(line)),
        Err(e) => panic!(
            "fast path accepted what serde rejects ({e}): {}",
            String::from_utf8_lossy(line)
        ),
    }
    true
}

#[test]
fn plain_fixture_lines_take_the_fast_path_and_match_serde() {
    let lines = fixture_lines();
    let complete = &lines[..lines.len() - 1]; // the last fixture line is truncated on purpose
    for line in complete {
        if memchr::memchr(b'\\', line).is_none() {
            assert!(agrees(line), "{}", String::from_utf8_lossy(line));
        }
    }
    assert!(record(lines.last().expect("lines")).is_none(), "truncated");
}

#[test]
fn every_truncation_and_single_byte_mutation_agrees_with_serde() {
    let replacements = b"{}[]:,\"\\ 0-.eE+tfnux\x01\xc3\xff";
    for line in fixture_lines() {
        for cut in 0..line.len() {
            agrees(&line[..cut]);
        }
        for at in (0..line.len()).step_by(3) {
            for &r in replacements {
                let mut m = line.clone();
                m[at] = r;
                agrees(&m);
                m.insert(at, r);
                agrees(&m);
            }
        }
    }
}

#[test]
fn known_fields_of_every_type_agree_or_fall_back() {
    let values = [
        r#""x""#,
        r#""""#,
        "null",
        "0",
        "-0",
        "12",
        "-7",
        "12.5",
        "1e3",
        "99999999999999999999",
        "true",
        "false",
        "[]",
        r#"{"a":[1,{"b":null}]}"#,
        r#"" 42 ""#,
        r#""4.9""#,
        r#""abc""#,
        r#""né 日本 🚀""#,
        r#""a\"b""#,
        r#""\u00e9""#,
    ];
    let keys = [
        "time",
        "Time",
        "category",
        "tunnelId",
        "TunnelId",
        "clientPort",
        "duration",
        "DurationMs",
        "message",
        "targetVmIpAddress",
        "sessionEndTime",
        "unknown",
    ];
    let mut fast = 0;
    for key in keys {
        for v in values {
            let top = format!(r#"{{"{key}":{v},"properties":{{"{key}":{v}}}}}"#);
            fast += usize::from(agrees(top.as_bytes()));
            let spaced =
                format!(r#"{{ "properties" : {{ "{key}" : {v} , "x" : [ ] }} , "{key}" : {v} }}"#);
            fast += usize::from(agrees(spaced.as_bytes()));
        }
    }
    assert!(fast > 200, "most shapes take the fast path: {fast}");
}

#[test]
fn odd_shapes_fall_back() {
    for line in [
        r#"{"time":"a","time":"b"}"#,
        r#"{"time":"a","Time":"b"}"#,
        r#"{"properties":{"tunnelId":"a","TunnelId":"b"}}"#,
        r#"{"properties":null}"#,
        r#"{"properties":["a"]}"#,
        r#"{"time":"a",}"#,
        r#"{"time":"a"} x"#,
        "{\"time\":\"a\tb\"}",
        r#"{"time":"a\nb"}"#,
        r#"{"time":01}"#,
        r#"{"properties":{"clientPort":1.5}}"#,
    ] {
        assert!(record(line.as_bytes()).is_none(), "{line}");
    }
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(100), "]".repeat(100));
    assert!(
        record(deep.as_bytes()).is_none(),
        "deep nesting goes to serde"
    );
    assert!(record(b"{\"time\":\"\xff\"}").is_none(), "invalid UTF-8");
}

#[test]
fn unicode_and_empty_objects_are_read_borrowed() {
    let line = r#"{"properties":{"userName":"Zoë 日本","tunnelId":"T","clientPort":"443"},"x":{}}"#;
    let r = record(line.as_bytes()).expect("fast");
    assert_eq!(
        r.properties.user_name,
        Some(Text(Cow::Borrowed("Zoë 日本")))
    );
    assert_eq!(r.properties.client_port, Some(Num(Some(443))));
    assert_eq!(record(b"{}"), Some(Record::default()));
}

/// Tunnel ids of every record in `buf` read as the tail does: complete lines only, the partial rest
/// carried over to the next read, which starts at `split`.
fn read_in_two(buf: &[u8], split: usize) -> Vec<String> {
    let mut got = Vec::new();
    let mut on = |_: u64, r: Record<'_>| {
        let t = r.properties.tunnel_id.map(|t| t.0.into_owned());
        got.push(t.unwrap_or_else(|| "-".to_owned()));
    };
    let used = super::super::parse_lines(&buf[..split], 0, &mut on, &mut |e, _| panic!("{e}"));
    let rest = &buf[used..];
    let used2 = super::super::parse_lines(rest, used as u64, &mut on, &mut |e, _| panic!("{e}"));
    assert_eq!(used + used2, buf.len(), "everything consumed");
    got
}

#[test]
fn crlf_missing_fields_and_records_split_across_reads() {
    let text = concat!(
        "\u{feff}{\"time\":\"2025-03-14T09:00:00Z\",\"properties\":{\"tunnelId\":\"A\"}}\r\n",
        "{\"properties\":{\"tunnelId\":\"B\",\"userName\":\"Zoë\"}}\n",
        "\r\n",
        "{\"time\":\"2025-03-14T09:00:01.5Z\"}\r\n",
        "{\"properties\":{\"tunnelId\":\"C\",\"message\":\"a \\\"quoted\\\" \\u00e9\"}}\n",
    );
    let buf = text.as_bytes();
    let whole = read_in_two(buf, buf.len());
    assert_eq!(whole, ["A", "B", "-", "C"]);
    for split in 0..=buf.len() {
        assert_eq!(read_in_two(buf, split), whole, "split at {split}");
    }
    for line in text.lines().map(|l| super::super::trim_line(l.as_bytes())) {
        if !line.is_empty() && memchr::memchr(b'\\', line).is_none() {
            assert!(agrees(line), "CRLF/BOM lines take the fast path");
        }
    }
}

//! Parser tests over the fixtures, hand-made edge cases, every cut and byte mutation of the fixture
//! lines, and records split across reads.

use super::*;

use crate::testkit::files::auditlog as fixture;

fn collect(buf: &[u8]) -> (Vec<(u64, String, String)>, Vec<LineError>, usize) {
    let (mut recs, mut errs) = (Vec::new(), Vec::new());
    let used = parse_lines(
        buf,
        100,
        &mut |off, r| {
            let tunnel = r
                .properties
                .tunnel_id
                .map(|t| t.0.into_owned())
                .unwrap_or_default();
            let msg = r
                .properties
                .message
                .map(|t| t.0.into_owned())
                .unwrap_or_default();
            recs.push((off, tunnel, msg));
        },
        &mut |e, _| errs.push(e),
    );
    (recs, errs, used)
}

#[test]
fn sample_fixture_yields_four_records_and_leaves_the_truncated_line() {
    let buf = fixture("PT1H.sample.jsonl");
    let (recs, errs, used) = collect(&buf);
    assert_eq!(recs.len(), 4);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(recs[0].1, "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f");
    assert_eq!(recs[0].0, 100, "offsets are absolute");
    assert_eq!(recs[1].2, "Login Failed");
    assert_eq!(
        recs[2].2, "HYPOTHETICAL-session-ended",
        "unknown messages are kept raw"
    );
    assert!(
        used < buf.len() && buf[used - 1] == b'\n',
        "the partial last line is not consumed"
    );
    assert_eq!(complete_len(&buf), used);
}

#[test]
fn fields_borrow_and_tolerate_types() {
    let line = br#"{"time":"2025-03-14T09:03:54.776Z","properties":{"userName":"a\u00e9","clientPort":"51544","duration":12.5,"protocol":7,"userEmail":{"x":1},"Unknown":[1,{"a":2}],"SessionStartTime":"2025-03-14T09:00:00Z","TunnelId":"T"}}"#;
    let got = parse_line(line).map(|r| format!("{r:?}"));
    let line2 = br#"{"time":"t","properties":{"tunnelId":"abc","clientPort":51544}}"#;
    let rec = parse_line(line2).map(|r| {
        matches!(
            r.properties.tunnel_id,
            Some(Text(std::borrow::Cow::Borrowed("abc")))
        )
    });
    assert_eq!(rec, Ok(true), "plain strings borrow");
    let text = got.expect("parses");
    assert!(text.contains("aé"), "escapes are decoded: {text}");
    assert!(
        text.contains("Num(Some(51544))") && text.contains("Num(Some(12))"),
        "{text}"
    );
    assert!(
        text.contains("\"7\""),
        "numbers where text is expected become text: {text}"
    );
    assert!(
        text.contains("tunnel_id: Some(Text(\"T\"))") && text.contains("session_start: Some"),
        "PascalCase aliases: {text}"
    );
}

#[test]
fn crlf_bom_blank_lines_and_corrupt_lines() {
    let mut buf = BOM.to_vec();
    buf.extend_from_slice(b"{\"properties\":{\"tunnelId\":\"a\"}}\r\n\r\n   \n{not json}\n{\"properties\":{\"tunnelId\":\"b\"}}\n[1,2]\n\"str\"\n{\"properties\":{\"tunnelId\":\"c\"}}");
    let (recs, errs, used) = collect(&buf);
    assert_eq!(
        recs.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert_eq!(
        errs[0].offset,
        100 + buf.windows(4).position(|w| w == b"{not").expect("pos") as u64,
        "absolute offset of the line"
    );
    assert_eq!(&buf[used..], b"{\"properties\":{\"tunnelId\":\"c\"}}");
}

#[test]
fn empty_and_newline_free_input_consume_nothing() {
    assert_eq!(collect(b"").2, 0);
    assert_eq!(collect(b"{\"a\":1}").2, 0);
    assert_eq!(collect(b"\n").2, 1);
}

#[test]
fn a_complete_object_is_a_whole_record_and_a_cut_one_is_not() {
    let whole = br#"{"time":"2025-03-14T09:00:00Z","properties":{"tunnelId":"t","message":"x"}}"#;
    assert!(is_complete_object(whole));
    for cut in 1..whole.len() {
        assert!(!is_complete_object(&whole[..cut]), "{cut}");
    }
    assert!(!is_complete_object(b"[1,2]"), "only objects are records");
    assert!(
        !is_complete_object(br#"{"a":1} {"b":2}"#),
        "one object, nothing after it"
    );
}

/// The fixture's complete lines (the last one is cut on purpose), trimmed.
fn fixture_lines() -> Vec<Vec<u8>> {
    let text = fixture("PT1H.sample.jsonl");
    let mut lines: Vec<Vec<u8>> = text
        .split(|b| *b == b'\n')
        .map(|l| trim_line(l).to_vec())
        .filter(|l| !l.is_empty())
        .collect();
    lines.pop();
    lines
}

fn parses(line: &[u8]) -> bool {
    parse_line(line).is_ok()
}

#[test]
fn every_cut_of_a_line_is_corrupt_and_no_mutation_panics() {
    let replacements = b"{}[]:,\"\\ 0-.eE+tfnux\x01\xc3\xff";
    for line in fixture_lines() {
        assert!(parses(&line), "{}", String::from_utf8_lossy(&line));
        for cut in 1..line.len() {
            assert!(!parses(&line[..cut]), "cut at {cut}");
        }
        for at in (0..line.len()).step_by(3) {
            for &r in replacements {
                let mut m = line.clone();
                m[at] = r;
                parses(&m);
                m.insert(at, r);
                parses(&m);
            }
        }
    }
}

#[test]
fn known_fields_of_any_type_never_cost_the_line() {
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
    for key in keys {
        for v in values {
            let top = format!(r#"{{"{key}":{v},"properties":{{"{key}":{v}}}}}"#);
            assert!(parses(top.as_bytes()), "{top}");
            let spaced =
                format!(r#"{{ "properties" : {{ "{key}" : {v} , "x" : [ ] }} , "{key}" : {v} }}"#);
            assert!(parses(spaced.as_bytes()), "{spaced}");
        }
    }
}

#[test]
fn duplicate_fields_and_malformed_json_are_corrupt_lines() {
    for line in [
        r#"{"time":"a","time":"b"}"#,
        r#"{"time":"a","Time":"b"}"#,
        r#"{"properties":{"tunnelId":"a","TunnelId":"b"}}"#,
        r#"{"properties":null}"#,
        r#"{"time":"a",}"#,
        r#"{"time":"a"} x"#,
        "{\"time\":\"a\tb\"}",
        r#"{"time":01}"#,
    ] {
        assert!(!parses(line.as_bytes()), "{line}");
    }
    assert!(!parses(b"{\"time\":\"\xff\"}"), "invalid UTF-8");
    assert!(
        parses(b"{\"userAgent\":\"\xff\",\"properties\":{\"tunnelId\":\"t\"}}"),
        "invalid UTF-8 in a field the product does not read costs nothing"
    );
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(100), "]".repeat(100));
    assert!(parses(deep.as_bytes()), "deep unknown values are skipped");
}

#[test]
fn unicode_is_borrowed_and_an_empty_object_is_an_empty_record() {
    let line = r#"{"properties":{"userName":"Zoë 日本","tunnelId":"T","clientPort":"443"},"x":{}}"#;
    let got = parse_line(line.as_bytes()).map(|r| {
        (
            matches!(
                r.properties.user_name,
                Some(Text(std::borrow::Cow::Borrowed("Zoë 日本")))
            ),
            r.properties.client_port,
        )
    });
    assert_eq!(got, Ok((true, Some(Num(Some(443))))));
    assert_eq!(parse_line(b"{}"), Ok(Record::default()));
}

/// Tunnel ids of every record in `buf` read as the tail does: complete lines only, the partial rest
/// carried over to the next read, which starts at `split`.
fn read_in_two(buf: &[u8], split: usize) -> Vec<String> {
    let mut got = Vec::new();
    let mut on = |_: u64, r: Record<'_>| {
        let t = r.properties.tunnel_id.map(|t| t.0.into_owned());
        got.push(t.unwrap_or_else(|| "-".to_owned()));
    };
    let used = parse_lines(&buf[..split], 0, &mut on, &mut |e, _| panic!("{e}"));
    let used2 = parse_lines(&buf[used..], used as u64, &mut on, &mut |e, _| {
        panic!("{e}")
    });
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
}

//! Parser tests over the fixtures and hand-made edge cases.

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/auditlogs/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

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
    let mut got = None;
    parse_line(line, &mut |r| got = Some(format!("{r:?}"))).expect("parses");
    let mut rec = None;
    let line2 = br#"{"time":"t","properties":{"tunnelId":"abc","clientPort":51544}}"#;
    parse_line(line2, &mut |r| {
        rec = Some(matches!(
            r.properties.tunnel_id,
            Some(Text(std::borrow::Cow::Borrowed("abc")))
        ))
    })
    .expect("parses");
    assert_eq!(rec, Some(true), "plain strings borrow");
    let text = got.expect("record");
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
fn legacy_document_streams_records() {
    let buf = fixture("PT1H.legacy-records.json");
    assert!(is_legacy_document(&buf));
    let mut tunnels = Vec::new();
    let n = for_each_in_document(&buf, &mut |r| {
        tunnels.push(r.properties.tunnel_id.map(|t| t.0.into_owned()))
    })
    .expect("doc");
    assert_eq!(n, 1);
    assert_eq!(
        tunnels,
        [Some("712faceb-b556-449e-b7ab-101b326bfd4c".to_owned())]
    );
    assert!(
        for_each_in_document(b"{\"records\":[{\"time\":1},", &mut |_| {}).is_err(),
        "truncated document"
    );
    assert!(!is_legacy_document(b"{\"time\":\"x\"}\n"));
}

#[test]
fn single_line_legacy_batches_are_expanded() {
    let (recs, errs, _) = collect(b"{\"records\":[{\"properties\":{\"tunnelId\":\"x\"}},{\"properties\":{\"tunnelId\":\"y\"}}]}\n");
    assert!(errs.is_empty());
    assert_eq!(
        recs.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["x", "y"]
    );
    assert!(
        !is_legacy_document(b"{\"records\":[]}\n"),
        "one-line batches are line mode"
    );
}

#[test]
fn a_complete_object_is_a_whole_record_and_a_cut_one_is_not() {
    let whole = br#"{"time":"2025-03-14T09:00:00Z","properties":{"tunnelId":"t","message":"x"}}"#;
    assert!(is_complete_object(whole));
    assert!(is_complete_object(
        br#"{"records":[{"properties":{"tunnelId":"t"}}]}"#
    ));
    for cut in 1..whole.len() {
        assert!(!is_complete_object(&whole[..cut]), "{cut}");
    }
    assert!(!is_complete_object(b"[1,2]"), "only objects are records");
    assert!(
        !is_complete_object(br#"{"a":1} {"b":2}"#),
        "one object, nothing after it"
    );
}

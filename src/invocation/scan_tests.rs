//! The scanner against serde_json as the oracle: every member it finds must decode to the value
//! serde_json reads for that member, every broken envelope must be refused, and no input may
//! panic.

use serde_json::{Map, Value};

use super::*;

/// The project's invocation fixtures plus hand-written envelopes with every kind of value.
fn valid_envelopes() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/invocations");
    let mut all: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .collect();
    assert!(all.len() >= 5, "fixtures found: {}", all.len());
    all.extend(
        [
            r#"{"Data":{},"Metadata":{}}"#,
            r#" { "Data" : { "a" : 1 , "b":-2.5e+3,"c":true,"d":false,"e":null } ,"Metadata":null } "#,
            r#"{"data":{"s":"q\"uo\\te\\","u":"\u00e9\ud83d\ude00 é 😀","arr":[[],{},[{"x":[1,2,{"y":"]}"}]}]]},"METADATA":{"sys":{"MethodName":"F"}}}"#,
            r#"{"Extra":{"a":[1,{"b":"}"}]},"Data":{"\u0078":"\"double\"","x\\y":1},"Other":[1,"a",null],"Metadata":{"data":{"k":"v"}}}"#,
            r#"{"Data":{"a":1},"Data":{"b":2},"Metadata":{"m":{}},"metadata":{"n":[]}}"#,
            "{\n\t\"Data\":\r\n{\"t\":\"tab\\tnew\\nline\"}}",
            r#"{"Metadata":{"z":0,"y":[0.1,1E5,-0]},"Data":{"w":"x"}}"#,
        ]
        .map(String::from),
    );
    all
}

/// What serde_json reads as one of the envelope's objects (any case, the last key winning).
fn oracle(body: &str, key: &str) -> Vec<(String, Value)> {
    let root: Map<String, Value> = serde_json::from_str(body).expect("valid");
    let mut members = Vec::new();
    // serde_json's map keeps one value per key; a repeated key inside the object is not used here.
    if let Some((_, Value::Object(m))) = root.iter().rfind(|(k, _)| k.eq_ignore_ascii_case(key)) {
        members.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members
}

/// A small deterministic generator (xorshift64), so a failure replays exactly.
fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

fn decoded(body: &str, entries: &[Entry]) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = entries
        .iter()
        .map(|e| {
            let text = &body[e.value.clone()];
            let value = serde_json::from_str(text).unwrap_or_else(|err| panic!("{text}: {err}"));
            (e.name.text(body).to_owned(), value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn members_decode_to_what_serde_json_reads() {
    for body in valid_envelopes() {
        let (data, metadata) = envelope(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(decoded(&body, &data), oracle(&body, "data"), "{body}");
        assert_eq!(
            decoded(&body, &metadata),
            oracle(&body, "metadata"),
            "{body}"
        );
    }
}

#[test]
fn every_strict_prefix_is_refused() {
    for body in valid_envelopes() {
        let body = body.trim_end();
        for end in (0..body.len()).filter(|&n| body.is_char_boundary(n)) {
            assert!(envelope(&body[..end]).is_err(), "prefix {end} of {body}");
        }
    }
}

#[test]
fn broken_envelopes_are_refused_with_a_position_not_the_text() {
    let secret = "s3cr3t-payload";
    for body in [
        String::new(),
        "[]".into(),
        r#""Data""#.into(),
        r#"{"Data":"x"}"#.into(),
        r#"{"Data":[]}"#.into(),
        r#"{"Metadata":1}"#.into(),
        r#"{"Metadata":nullx}"#.into(),
        r#"{"Data":{}} x"#.into(),
        r#"{"Data":{}}{}"#.into(),
        r#"{"Data":{"a":}}"#.into(),
        r#"{"Data":{"a" 1}}"#.into(),
        r#"{"Data":{"a":1,}}"#.into(),
        r#"{"Data":{,}}"#.into(),
        r#"{"Data":{a:1}}"#.into(),
        r#"{"Data":{"a":[1}}"#.into(),
        r#"{"Data":{"a":{"b":1]}}"#.into(),
        r#"{"Data":{"a":]}}"#.into(),
        r#"{"Data":{"\x":1}}"#.into(),
        format!(r#"{{"Data":{{"{secret}":"{secret}}}}}"#),
        format!(r#"{{"Data":{{"a":"{secret}\"}}}}"#),
    ] {
        let err = envelope(&body).expect_err(&body);
        assert!(!err.contains(secret), "{err}");
    }
}

#[test]
fn nesting_is_limited_like_serde_json() {
    let nested = |n: usize| format!(r#"{{"Data":{{"a":{}1{}}}}}"#, "[".repeat(n), "]".repeat(n));
    assert!(envelope(&nested(MAX_DEPTH)).is_ok());
    let err = envelope(&nested(MAX_DEPTH + 1)).expect_err("too deep");
    assert!(err.contains("deeper"), "{err}");
}

/// Mutated fixtures (bytes replaced, dropped, repeated), deterministically: no panic, and where
/// serde_json still reads an envelope, the scanner reads the same members.
#[test]
fn mutated_envelopes_never_panic_and_agree_when_valid() {
    let mut random = xorshift(0x9e37_79b9_7f4a_7c15);
    let mut next = |n: usize| (random() % n as u64) as usize;
    let alphabet = br#"{}[]":,\ 0a-"#;
    let (mut agreed, mut refused) = (0, 0);
    for body in valid_envelopes() {
        for _ in 0..400 {
            let mut bytes = body.clone().into_bytes();
            for _ in 0..1 + next(3) {
                let at = next(bytes.len());
                match next(3) {
                    0 => bytes[at] = alphabet[next(alphabet.len())],
                    1 => drop(bytes.remove(at)),
                    _ => bytes.insert(at, bytes[at]),
                }
            }
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            let scanned = envelope(&text);
            let root = serde_json::from_str::<Map<String, Value>>(&text);
            let shaped = root.as_ref().is_ok_and(|m| {
                m.iter()
                    .filter(|(k, _)| {
                        ["data", "metadata"]
                            .iter()
                            .any(|w| k.eq_ignore_ascii_case(w))
                    })
                    .all(|(_, v)| v.is_object() || v.is_null())
            });
            if shaped {
                let (data, metadata) = scanned.unwrap_or_else(|e| panic!("{e}: {text}"));
                assert_eq!(decoded(&text, &data), oracle(&text, "data"), "{text}");
                assert_eq!(decoded(&text, &metadata), oracle(&text, "metadata"));
                agreed += 1;
            } else if scanned.is_err() {
                refused += 1;
            }
        }
    }
    // The mutations must exercise both sides, or the test proves nothing.
    assert!(
        agreed > 100 && refused > 1000,
        "agreed {agreed}, refused {refused}"
    );
}

/// The word-at-a-time search finds the same first byte as a plain search, at every offset and
/// length (the last few bytes take the byte-at-a-time path).
#[test]
fn word_search_agrees_with_a_byte_search() {
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    let pool = br#"ab"\{}[]Y_y ,:0"#;
    for _ in 0..3000 {
        let len = (next() % 40) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| pool[(next() % 15) as usize]).collect();
        if next().is_multiple_of(4) {
            b.iter_mut().for_each(|c| *c = (next() & 0xFF) as u8);
        }
        let from = (next() % 42) as usize;
        let plain = |set: &[u8]| (from..b.len()).find(|&i| set.contains(&b[i]));
        assert_eq!(
            find(&b, from, quote_or_backslash),
            plain(b"\"\\"),
            "{b:?} {from}"
        );
        let brackets = plain(b"\"{}[]Y_y\x7f");
        assert_eq!(find(&b, from, quote_or_bracket), brackets, "{b:?} {from}");
    }
}

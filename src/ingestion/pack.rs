//! Packing records into calls: each call one gzip-compressed JSON array whose JSON is at most
//! [`MAX_CALL_BYTES`], holding as many records, in order, as fit; and the cut of fields over
//! [`MAX_FIELD_BYTES`] before a record is stored at all.
//!
//! **How much fits.** The service's limit is 1 MB a call for compressed and uncompressed data
//! alike, and Microsoft's own client splits its uploads at 1 MiB of JSON before compressing them:
//! a call is packed by the JSON it expands to (its gzip body is always smaller), so it is within
//! the limit whichever of the two the service counts.

use std::io::Write as _;
use std::ops::Range;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Map, Value};

use crate::telemetry::text::char_floor;

/// Most bytes of JSON a call may carry (1 MB; 1,000,000 rather than 1,048,576 as the service's
/// unit is not stated).
pub const MAX_CALL_BYTES: usize = 1_000_000;
/// Longest field value kept (64 KB, as 64,000 bytes for the same reason); longer ones are cut.
pub const MAX_FIELD_BYTES: usize = 64_000;
/// Appended to a cut value.
pub const CUT_MARKER: &str = "…[cut]";

/// One call's body: the records `range` of the input, as one JSON array, gzip-compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Which records (indices into the input).
    pub range: Range<usize>,
    /// The gzip body.
    pub gzip: Vec<u8>,
    /// Length of the JSON array it expands to.
    pub json_bytes: usize,
}

/// Packs `records` (each one JSON object's text) into calls whose JSON array is at most `limit`
/// bytes, in order. A record that alone exceeds the limit gets a call of its own (the service
/// will refuse it; nothing is dropped here).
pub fn pack<S: AsRef<str>>(records: &[S], limit: usize) -> Vec<Call> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < records.len() {
        // The brackets, then each record and its comma.
        let mut json = 2;
        let mut end = start;
        for r in &records[start..] {
            let add = r.as_ref().len() + usize::from(end > start);
            if json + add > limit && end > start {
                break;
            }
            json += add;
            end += 1;
        }
        out.push(gzip(records, start..end));
        start = end;
    }
    out
}

/// The calls of `records` with `call`'s records split in two halves (a 413, or the connection
/// aborted: the service found it too large); `None` for a single record.
pub fn halves<S: AsRef<str>>(records: &[S], call: &Call) -> Option<[Call; 2]> {
    let r = call.range.clone();
    if r.len() < 2 {
        return None;
    }
    let mid = r.start + r.len() / 2;
    Some([gzip(records, r.start..mid), gzip(records, mid..r.end)])
}

/// The records `range` as one gzip call.
fn gzip<S: AsRef<str>>(records: &[S], range: Range<usize>) -> Call {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    let mut json = 2;
    let _ = enc.write_all(b"[");
    for (i, r) in records[range.clone()].iter().enumerate() {
        if i > 0 {
            let _ = enc.write_all(b",");
            json += 1;
        }
        let _ = enc.write_all(r.as_ref().as_bytes());
        json += r.as_ref().len();
    }
    let _ = enc.write_all(b"]");
    Call {
        range,
        gzip: enc.finish().unwrap_or_default(),
        json_bytes: json,
    }
}

/// Cuts every field of `record` longer than [`MAX_FIELD_BYTES`] (a string's UTF-8, any other
/// value's JSON text) to that length, [`CUT_MARKER`] included, on a character boundary; a cut
/// non-string value becomes the cut text of its JSON. Returns the names of the fields cut.
pub fn cut_fields(record: &mut Map<String, Value>) -> Vec<String> {
    let mut cut = Vec::new();
    for (name, v) in record.iter_mut() {
        let text = match v {
            Value::String(s) if s.len() > MAX_FIELD_BYTES => std::mem::take(s),
            Value::Array(_) | Value::Object(_) => {
                let t = v.to_string();
                if t.len() <= MAX_FIELD_BYTES {
                    continue;
                }
                t
            }
            _ => continue,
        };
        *v = Value::String(cut_text(&text, MAX_FIELD_BYTES));
        cut.push(name.clone());
    }
    cut
}

/// `text` cut to at most `max` bytes, the marker included, on a character boundary.
pub fn cut_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let at = char_floor(text, max.saturating_sub(CUT_MARKER.len()));
    [&text[..at], CUT_MARKER].concat()
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use flate2::read::GzDecoder;
    use serde_json::json;

    use super::*;

    fn records(n: usize, width: usize) -> Vec<String> {
        // Pseudo-random text compresses like real ids and names, not like a repeated letter.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..n)
            .map(|i| {
                let noise: String = (0..width)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        char::from(b'a' + (x % 26) as u8)
                    })
                    .collect();
                json!({"RowId": format!("id-{i:06}"), "Text": noise}).to_string()
            })
            .collect()
    }

    fn expand(call: &Call) -> Vec<Value> {
        let mut text = String::new();
        GzDecoder::new(&call.gzip[..])
            .read_to_string(&mut text)
            .expect("gzip");
        assert_eq!(text.len(), call.json_bytes, "json length");
        serde_json::from_str(&text).expect("a JSON array")
    }

    #[test]
    fn calls_hold_every_record_in_order_within_a_megabyte_of_json_and_nearly_full() {
        let recs = records(30_000, 120);
        let calls = pack(&recs, MAX_CALL_BYTES);
        let mut next = 0;
        for c in &calls {
            assert_eq!(c.range.start, next, "contiguous");
            next = c.range.end;
            let rows = expand(c);
            assert_eq!(rows.len(), c.range.len());
            assert_eq!(rows[0]["RowId"], format!("id-{:06}", c.range.start));
            assert!(c.json_bytes <= MAX_CALL_BYTES, "{}", c.json_bytes);
            assert!(c.gzip.len() < c.json_bytes);
        }
        assert_eq!(next, recs.len());
        // Every call but the last is within a record of the limit.
        for c in &calls[..calls.len() - 1] {
            assert!(c.json_bytes > MAX_CALL_BYTES - 200, "{}", c.json_bytes);
        }
    }

    /// The limit counts the JSON, not the gzip: text that compresses well (as rows of repeated
    /// names and ids do) fills a call with a megabyte of JSON, never several.
    #[test]
    fn a_call_never_expands_past_a_megabyte_however_well_it_compresses() {
        let recs: Vec<String> = (0..20_000)
            .map(|i| {
                json!({"RowId": format!("id-{i:06}"), "Text": "bas-hub-weu ".repeat(20)})
                    .to_string()
            })
            .collect();
        let calls = pack(&recs, MAX_CALL_BYTES);
        let total: usize = calls.iter().map(|c| c.json_bytes).sum();
        assert!(calls.iter().all(|c| c.json_bytes <= MAX_CALL_BYTES));
        assert!(total > 5 * MAX_CALL_BYTES, "{total}");
        assert!(
            calls.len() <= total / (MAX_CALL_BYTES - 300) + 1,
            "{}",
            calls.len()
        );
        assert!(calls.iter().all(|c| c.gzip.len() < MAX_CALL_BYTES / 10));
    }

    #[test]
    fn halves_split_a_call_and_keep_its_records() {
        let recs = records(10, 50);
        let all = pack(&recs, MAX_CALL_BYTES);
        assert_eq!(all.len(), 1);
        let [a, b] = halves(&recs, &all[0]).expect("two");
        assert_eq!((a.range.clone(), b.range.clone()), (0..5, 5..10));
        assert_eq!(expand(&a).len() + expand(&b).len(), 10);
        let [single, _] = halves(&recs, &a).expect("two");
        let [one, _] = halves(&recs, &single).expect("two");
        assert_eq!(one.range.len(), 1);
        assert!(halves(&recs, &one).is_none());
    }

    #[test]
    fn an_oversized_record_travels_alone() {
        let recs = vec![
            "{}".to_owned(),
            format!("{{\"T\":\"{}\"}}", "x".repeat(2_000)),
            "{}".to_owned(),
        ];
        let calls = pack(&recs, 1_000);
        let ranges: Vec<_> = calls.iter().map(|c| c.range.clone()).collect();
        assert_eq!(ranges, [0..1, 1..2, 2..3]);
    }

    #[test]
    fn long_fields_are_cut_with_the_marker_on_a_character_boundary() {
        let long = "é".repeat(MAX_FIELD_BYTES);
        let mut r = json!({"A": long, "B": "short", "C": {"list": vec!["x"; 20_000]}, "D": 7})
            .as_object()
            .cloned()
            .expect("object");
        let cut = cut_fields(&mut r);
        assert_eq!(cut, ["A", "C"]);
        for k in ["A", "C"] {
            let v = r[k].as_str().expect("text");
            assert!(v.len() <= MAX_FIELD_BYTES && v.ends_with(CUT_MARKER), "{k}");
        }
        assert_eq!(r["B"], "short");
        assert_eq!(r["D"], 7);
        assert!(cut_fields(&mut r).is_empty(), "a cut record stays as it is");
    }
}

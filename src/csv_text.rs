//! CSV a spreadsheet shows as text, for every export (the API's lists and the evidence pack's files).
//!
//! A cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets a `'` first, so a spreadsheet
//! shows it instead of evaluating a formula (OWASP "CSV injection"); the `csv` crate then quotes what
//! RFC 4180 needs (comma, quote, CR, LF; quotes doubled). Rows end CRLF.

use std::borrow::Cow;
use std::io::Write;

/// A cell a spreadsheet shows as text.
pub fn defuse(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// A CSV writer with CRLF rows; write its cells through [`row`].
pub fn writer<W: Write>(out: W) -> csv::Writer<W> {
    builder().from_writer(out)
}

fn builder() -> csv::WriterBuilder {
    let mut b = csv::WriterBuilder::new();
    b.terminator(csv::Terminator::CRLF);
    b
}

/// Writes one row of defused cells.
///
/// # Errors
/// The writer's I/O errors.
pub fn row<W: Write, S: AsRef<str>>(w: &mut csv::Writer<W>, cells: &[S]) -> csv::Result<()> {
    for c in cells {
        w.write_field(defuse(c.as_ref()).as_bytes())?;
    }
    w.write_record(None::<&[u8]>)
}

/// One CSV line of defused cells, with its CRLF.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    // One line at a time (the API's lists): a row-sized buffer, not the writer's default 8 KiB.
    let mut w = builder()
        .buffer_capacity(512)
        .from_writer(Vec::with_capacity(512));
    // Into memory: no I/O error can occur, and every cell is UTF-8.
    let _ = row(&mut w, cells);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn cells_are_defused_then_quoted() {
        for (raw, want) in [
            ("plain", "plain"),
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("=a,\"b\"", "\"'=a,\"\"b\"\"\""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(line(&["", raw]), format!(",{want}\r\n"), "{raw:?}");
        }
    }
}

//! CSV a spreadsheet shows as text, for every export (the API's lists and the evidence pack's files).
//!
//! - **Formulas:** a cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets a `'` first,
//!   so a spreadsheet shows it instead of evaluating a formula (OWASP "CSV injection"); so does each
//!   such character that follows a separator of any locale (`,` `;` tab; spaces after the start or
//!   a separator are skipped, as a spreadsheet trimming cells would): a spreadsheet that splits cells on `;` (German or French Excel) or on tabs would
//!   otherwise start a new cell, and a formula, there (`a;=1+1` is written `"a;'=1+1"`). The same
//!   after every line break (CR or LF) inside a cell: a reader that splits lines without honouring
//!   quotes starts a new row, and a cell, there (`a\n=1+1` is written `"a\n'=1+1"`).
//! - **Quoting:** a cell containing `,` `;` tab, `"`, CR or LF is quoted, its quotes doubled (RFC 4180),
//!   so no locale's separator splits it. Rows end CRLF.
//!
//! Why these few lines instead of the `csv` crate's writer: it quotes a field only for its own
//! delimiter, the quote and line breaks (`QuoteStyle::Necessary`) or else every field
//! (`QuoteStyle::Always`); a cell holding `;` or a tab must be quoted while a plain one stays bare,
//! which it cannot express. Reading (the tests) still uses the crate.

use std::borrow::Cow;
use std::io::Write;

/// Characters that make a spreadsheet read a cell as a formula when they start it.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
/// Cell separators of the locales spreadsheets run in, and the line breaks that start a row.
const SEPARATORS: [char; 5] = [',', ';', '\t', '\r', '\n'];

/// A cell a spreadsheet shows as text: `'` before a formula start at the beginning, after each
/// separator and after each line break (spaces before it skipped).
pub fn defuse(value: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    // True at the start of the cell and after a separator or line break (and spaces after it).
    let mut at_start = true;
    for (i, c) in value.char_indices() {
        if at_start && FORMULA_STARTS.contains(&c) {
            out.get_or_insert_with(|| value[..i].to_owned()).push('\'');
        }
        if let Some(o) = out.as_mut() {
            o.push(c);
        }
        at_start = SEPARATORS.contains(&c) || (at_start && c == ' ');
    }
    out.map_or(Cow::Borrowed(value), Cow::Owned)
}

/// True when a cell must be quoted: it holds a separator of any locale, a quote or a line break.
fn needs_quotes(cell: &str) -> bool {
    cell.contains([',', ';', '\t', '"', '\r', '\n'])
}

/// Appends one defused, quoted-when-needed cell to `out`.
fn push_cell(out: &mut String, value: &str) {
    let cell = defuse(value);
    if needs_quotes(&cell) {
        out.push('"');
        out.push_str(&cell.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&cell);
    }
}

/// One CSV line of defused cells, with its CRLF.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out =
        String::with_capacity(cells.iter().map(|c| c.as_ref().len() + 1).sum::<usize>() + 2);
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(&mut out, c.as_ref());
    }
    out.push_str("\r\n");
    out
}

/// Writes one line of defused cells to `out`.
///
/// # Errors
/// The writer's I/O errors.
pub fn row<W: Write, S: AsRef<str>>(out: &mut W, cells: &[S]) -> std::io::Result<()> {
    out.write_all(line(cells).as_bytes())
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
            ("\tx", "\"'\tx\""),
            ("\rx", "\"'\rx\""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("=a,\"b\"", "\"'=a,\"\"b\"\"\""),
            ("a=b", "a=b"),
            ("a-b", "a-b"),
            ("", ""),
        ] {
            assert_eq!(line(&["", raw]), format!(",{want}\r\n"), "{raw:?}");
        }
    }

    #[test]
    fn every_locale_separator_is_quoted_and_defused_after() {
        for (raw, want) in [
            ("a;=1+1", "\"a;'=1+1\""),
            ("a;b", "\"a;b\""),
            ("a\tb", "\"a\tb\""),
            ("a\t=1+1", "\"a\t'=1+1\""),
            ("a,@SUM(A1)", "\"a,'@SUM(A1)\""),
            ("a; -1", "\"a; '-1\""),
            ("a;;+1", "\"a;;'+1\""),
            ("x;=1;=2", "\"x;'=1;'=2\""),
            ("2001:db8::1;10.0.0.1", "\"2001:db8::1;10.0.0.1\""),
            ("x; y", "\"x; y\""),
            (" =1", " '=1"),
        ] {
            assert_eq!(line(&[raw]), format!("{want}\r\n"), "{raw:?}");
        }
    }

    #[test]
    fn every_line_break_is_defused_after() {
        for (raw, want) in [
            ("a\n=1+1", "\"a\n'=1+1\""),
            ("a\r\n+1", "\"a\r\n'+1\""),
            ("a\r-1", "\"a\r'-1\""),
            ("a\n @x", "\"a\n '@x\""),
            ("a\n\n=1", "\"a\n\n'=1\""),
            ("a\nb=1", "\"a\nb=1\""),
        ] {
            assert_eq!(line(&[raw]), format!("{want}\r\n"), "{raw:?}");
        }
    }

    proptest::proptest! {
        /// Whatever the cell, no piece a reader could split it into (on any separator or line
        /// break, quotes ignored, spaces trimmed) starts a formula; and a CSV reader reads the cell
        /// back as written, but for the `'` before each such start.
        #[test]
        fn no_split_of_any_cell_starts_a_formula(
            cell in "[a=+@ ;,\t\r\n\"-]{0,24}",
        ) {
            let text = line(&[cell.as_str()]);
            let body = text.strip_suffix("\r\n").unwrap_or(&text);
            // The outer quotes of a quoted cell (its own quotes stay doubled).
            let body = body
                .strip_prefix('"')
                .and_then(|b| b.strip_suffix('"'))
                .unwrap_or(body);
            for piece in body.split([';', '\t', ',', '\r', '\n']) {
                let piece = piece.trim_start_matches(' ');
                proptest::prop_assert!(
                    !piece.starts_with(['=', '+', '-', '@']),
                    "{:?} in {:?}", piece, text
                );
            }
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(text.as_bytes());
            let read: Vec<String> = reader
                .records()
                .map(|r| r.map(|r| r.iter().map(str::to_owned).collect::<Vec<_>>().join(",")))
                .collect::<Result<_, _>>()
                .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let unquoted = read.join("");
            proptest::prop_assert_eq!(unquoted.replace('\'', ""), cell.replace('\'', ""));
        }
    }

    #[test]
    fn a_semicolon_split_of_any_line_starts_no_cell_with_a_formula() {
        // What a spreadsheet splitting on `;` (or tabs) without honouring quotes would see.
        let hostile = ["a;=1+1", "b\t+2", "c, -3", "=d", "e;@x", "f;\t=1", "g\";=1"];
        let text = line(&hostile);
        for cell in text.trim_end().split([';', '\t', ',']) {
            let cell = cell.trim_matches([' ', '"']);
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "{cell:?} in {text:?}"
            );
        }
    }
}

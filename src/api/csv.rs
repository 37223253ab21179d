//! CSV output with spreadsheet-injection escaping.
//!
//! Cells starting with `=`, `+`, `-`, `@`, tab or carriage return are prefixed with `'` so a
//! spreadsheet shows them as text instead of evaluating a formula (OWASP "CSV injection"); then any
//! cell containing a comma, quote, CR or LF is quoted with quotes doubled (RFC 4180). Rows end CRLF.

/// Escapes one cell.
pub fn cell(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// One CSV line (with CRLF).
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = cells
        .iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

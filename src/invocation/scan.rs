//! Finds the members of the request envelope `{"Data":{…},"Metadata":{…}}` as byte positions in
//! the body, without decoding any value.
//!
//! Why not serde: the envelope carries the trigger's event twice (`Data.<binding>` and
//! `Metadata.data`), and serde_json, even when skipping a value, checks every byte of it. That
//! check was the largest single cost of an invocation (about 16k instructions of 150k). Here the
//! envelope's own structure (the outer object, `Data` and `Metadata` and their member names) is
//! read strictly, and each member's value only far enough to find its end: strings are skipped
//! with `memchr`, and brackets are matched. A value is fully parsed when a function reads it, so
//! a malformed value the function needs still ends as Poison, and one it never reads is ignored
//! like any unknown field.

use std::ops::Range;

/// One `Data`/`Metadata` member: its name and where its JSON text lies in the body.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) name: Name,
    pub(super) value: Range<usize>,
}

/// A member name: its position in the body (between the quotes), or the unescaped text when the
/// name was written with escapes.
#[derive(Debug, Clone)]
pub(super) enum Name {
    At(Range<usize>),
    Unescaped(Box<str>),
}

impl Name {
    /// The name's text; `body` is the text the positions point into.
    pub(super) fn text<'a>(&'a self, body: &'a str) -> &'a str {
        match self {
            Self::At(r) => body.get(r.clone()).unwrap_or_default(),
            Self::Unescaped(n) => n,
        }
    }
}

/// The members of `Data` and of `Metadata`, each in body order.
pub(super) type Members = (Vec<Entry>, Vec<Entry>);

/// Nesting deeper than this is refused, as serde_json refuses it (its recursion limit).
const MAX_DEPTH: usize = 128;

/// Reads the envelope: a JSON object whose `Data` and `Metadata` keys (any case; the last of a
/// repeated key wins) hold objects or `null`; other keys are skipped.
///
/// # Errors
/// What was expected and at which byte; never any of the body's text.
pub(super) fn envelope(body: &str) -> Result<Members, String> {
    let mut s = Scanner {
        text: body,
        b: body.as_bytes(),
        i: 0,
    };
    let mut members = Members::default();
    s.object(|s, name| {
        let key = name.text(body);
        let slot = if key.eq_ignore_ascii_case("data") {
            &mut members.0
        } else if key.eq_ignore_ascii_case("metadata") {
            &mut members.1
        } else {
            return s.value().map(drop);
        };
        s.ws();
        *slot = match s.peek() {
            Some(b'{') => {
                let mut entries = Vec::with_capacity(4);
                s.object(|s, name| {
                    let value = s.value()?;
                    entries.push(Entry { name, value });
                    Ok(())
                })?;
                entries
            }
            Some(b'n') if s.b[s.i..].starts_with(b"null") => {
                s.i += 4;
                Vec::new()
            }
            _ => return Err(format!("`{key}` is not a JSON object (byte {})", s.i)),
        };
        Ok(())
    })?;
    s.ws();
    match s.peek() {
        None => Ok(members),
        Some(_) => Err(format!("trailing characters at byte {}", s.i)),
    }
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{}`", c as char)))
        }
    }

    fn unexpected(&self, what: &str) -> String {
        match self.peek() {
            None => format!("expected {what}, found the end of the body"),
            Some(_) => format!("expected {what} at byte {}", self.i),
        }
    }

    /// An object, `member` called after each name and its `:` to read the value.
    fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Name) -> Result<(), String>,
    ) -> Result<(), String> {
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a member name"));
            }
            let name = self.name()?;
            self.expect(b':')?;
            member(self, name)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
    }

    /// A member name at the opening quote: its position, or its unescaped text (decoded, and so
    /// checked, by serde_json: names with escapes are rare and short).
    fn name(&mut self) -> Result<Name, String> {
        let start = self.i;
        if !self.string()? {
            return Ok(Name::At(start + 1..self.i - 1));
        }
        let quoted = self.text.get(start..self.i).unwrap_or_default();
        serde_json::from_str::<String>(quoted)
            .map(|n| Name::Unescaped(n.into()))
            .map_err(|_| format!("invalid escape in the member name at byte {start}"))
    }

    /// Skips a string at its opening quote; true when it held escapes.
    fn string(&mut self) -> Result<bool, String> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            match find(self.b, self.i, quote_or_backslash).map(|n| (n, self.b[n])) {
                Some((n, b'"')) => {
                    self.i = n + 1;
                    return Ok(escaped);
                }
                // The escaped character is never the closing quote; `\uXXXX` holds no quote.
                Some((n, _)) => {
                    self.i = n + 2;
                    escaped = true;
                }
                None => {
                    self.i = self.b.len();
                    return Err(format!("unterminated string from byte {start}"));
                }
            }
        }
    }

    /// Skips one value after optional whitespace and returns its position. Strings and brackets
    /// are followed exactly; what lies between them is left to whoever decodes the value.
    fn value(&mut self) -> Result<Range<usize>, String> {
        self.ws();
        let start = self.i;
        match self.peek() {
            Some(b'"') => {
                self.string()?;
            }
            Some(b'{' | b'[') => self.nested()?,
            Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !is_ws(c))
                {
                    self.i += 1;
                }
            }
            _ => return Err(self.unexpected("a value")),
        }
        Ok(start..self.i)
    }

    /// Skips an object or array at its opening bracket, matching every bracket kind.
    fn nested(&mut self) -> Result<(), String> {
        let start = self.i;
        let mut open = Vec::with_capacity(8);
        while let Some(n) = find(self.b, self.i, quote_or_bracket) {
            self.i = n;
            let c = self.b[n];
            match c {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' if open.len() == MAX_DEPTH => {
                    return Err(format!("nesting deeper than {MAX_DEPTH} at byte {n}"));
                }
                b'{' => open.push(b'}'),
                b'[' => open.push(b']'),
                b'}' | b']' if open.pop() != Some(c) => {
                    return Err(format!("unbalanced `{}` at byte {n}", c as char));
                }
                b'}' | b']' if open.is_empty() => {
                    self.i += 1;
                    return Ok(());
                }
                // Closing an inner level, or a byte the word test lets through (see below).
                _ => {}
            }
            self.i += 1;
        }
        self.i = self.b.len();
        Err(format!("unterminated value from byte {start}"))
    }
}

/// JSON's four whitespace bytes.
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// `0x01` in every byte of a word.
const ONES: u64 = u64::MAX / 255;

/// The high bit of each byte of `w` that equals `c`. Only the lowest set bit is exact (a borrow
/// may flag a byte above a match), which is all [`find`] uses.
fn bytes_equal(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & (ONES << 7)
}

/// `"` or `\`: where a string's text stops.
fn quote_or_backslash(w: u64) -> u64 {
    bytes_equal(w, b'"') | bytes_equal(w, b'\\')
}

/// `"` or a bracket. `{` `}` `[` `]` (0x7B 0x7D 0x5B 0x5D) are the bytes that become 0x7F when
/// or-ed with 0x26, with `Y` `_` `y` and DEL: one test instead of four, and the few extra bytes
/// found are passed over by the caller (between strings they do not occur in JSON anyway).
fn quote_or_bracket(w: u64) -> u64 {
    bytes_equal(w, b'"') | bytes_equal(w | (ONES * 0x26), 0x7F)
}

/// The first position at or after `from` whose byte `test` flags, eight bytes at a time: the
/// envelope's strings are mostly 10 to 100 bytes, too short for `memchr`'s set-up to pay.
#[inline]
fn find(b: &[u8], mut from: usize, test: impl Fn(u64) -> u64) -> Option<usize> {
    while let Some(word) = b.get(from..from + 8) {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        let hits = test(u64::from_le_bytes(bytes));
        if hits != 0 {
            return Some(from + hits.trailing_zeros() as usize / 8);
        }
        from += 8;
    }
    // The last few bytes, one at a time through the same test.
    (from..b.len()).find(|&i| test(u64::from(b[i])) & 0x80 != 0)
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;

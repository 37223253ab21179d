//! Fast path for the common record shape: a strict, allocation-free JSON scanner that reads only the
//! fields of [`Record`] and skips everything else.
//!
//! Why: serde's derive walks every key through a field matcher and builds a value per field; the
//! tail reads ~1 KB records of which it needs a dozen short strings. The scanner accepts a line only
//! when it is plain — valid UTF-8, no backslash (escape) and no control byte anywhere, every known
//! field a string, integer or null, no duplicate known field, well-formed JSON up to the last byte —
//! and then yields exactly what serde would (the differential tests check this). Anything else
//! (escapes, floats, odd types, malformed input) returns `None` and the caller takes the serde path,
//! which also produces the error message for corrupt lines. So the fast path changes speed, never
//! results.

use std::borrow::Cow;

use super::{Num, Properties, Record, Text};

/// Deepest nesting the scanner skips before handing the line to serde (which has its own limit).
const MAX_DEPTH: u8 = 64;
/// Strings up to this length are scanned byte by byte, longer ones with `memchr`.
const SHORT: usize = 24;

/// The record on `line` (trimmed, starting with `{`), or `None` when serde must decide.
pub(super) fn record(line: &[u8]) -> Option<Record<'_>> {
    let text = std::str::from_utf8(line).ok()?;
    if memchr::memchr(b'\\', line).is_some() || has_control(line) {
        return None;
    }
    let mut cur = Cursor {
        s: text,
        b: line,
        i: 0,
    };
    let mut rec = Record::default();
    let mut seen = 0u32;
    cur.object(&mut |cur, key| {
        let (bit, slot) = match key {
            "time" | "Time" => (0, &mut rec.time),
            "resourceId" | "ResourceId" => (1, &mut rec.resource_id),
            "operationName" | "OperationName" => (2, &mut rec.operation_name),
            "category" | "Category" => (3, &mut rec.category),
            "properties" | "Properties" => {
                once(&mut seen, 4)?;
                rec.properties = cur.properties()?;
                return Some(());
            }
            _ => return cur.skip(0),
        };
        once(&mut seen, bit)?;
        *slot = cur.text()?;
        Some(())
    })?;
    cur.space();
    (cur.i == line.len()).then_some(rec)
}

/// True when any byte is below 0x20 (raw control characters are invalid inside JSON strings; tabs
/// between tokens are valid but rare, and simply take the serde path). Branch-free so it vectorizes.
fn has_control(line: &[u8]) -> bool {
    line.iter().fold(false, |acc, &b| acc | (b < 0x20))
}

/// Marks field `bit` as seen; `None` (serde path, which reports the duplicate) when it was already.
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    let mask = 1 << bit;
    (*seen & mask == 0).then(|| *seen |= mask)
}

struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn space(&mut self) {
        while self.b.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.space();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// A string without escapes (checked for the whole line up front).
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = &self.b[start..];
        // Most keys and values are short: a plain loop beats memchr's set-up cost there.
        let len = match rest.iter().take(SHORT).position(|&c| c == b'"') {
            Some(n) => n,
            None => memchr::memchr(b'"', rest)?,
        };
        let end = start + len;
        self.i = end + 1;
        self.s.get(start..end)
    }

    /// A JSON number (strict grammar); returns its text.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.i;
        let digits = |c: &mut Self| {
            let from = c.i;
            while c.b.get(c.i).is_some_and(u8::is_ascii_digit) {
                c.i += 1;
            }
            (c.i > from).then_some(())
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => digits(self)?,
            _ => return None,
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            digits(self)?;
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            digits(self)?;
        }
        self.s.get(start..self.i)
    }

    /// `{ "key": value, … }`, calling `field` positioned on each value.
    fn object(&mut self, field: &mut dyn FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Skips any value (validating its grammar).
    fn skip(&mut self, depth: u8) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(&mut |c, _| c.skip(depth + 1)),
            b'[' => {
                self.i += 1;
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => None,
        }
    }

    /// A text field: a string (borrowed) or null; anything else goes to serde.
    fn text(&mut self) -> Option<Option<Text<'a>>> {
        match self.peek()? {
            b'"' => Some(Some(Text(Cow::Borrowed(self.string()?)))),
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    /// A number field: an integer that fits, a string (read like serde does) or null.
    fn num(&mut self) -> Option<Option<Num>> {
        match self.peek()? {
            b'"' => Some(Some(Num::from_text(self.string()?))),
            b'n' => self.literal(b"null").map(|()| None),
            _ => self
                .number()?
                .parse::<i64>()
                .ok()
                .map(|n| Some(Num(Some(n)))),
        }
    }

    fn properties(&mut self) -> Option<Properties<'a>> {
        let mut p = Properties::default();
        let mut seen = 0u32;
        self.object(&mut |c, key| {
            let (bit, slot) = match key {
                "clientPort" | "ClientPort" => {
                    once(&mut seen, 0)?;
                    p.client_port = c.num()?;
                    return Some(());
                }
                "duration" | "Duration" | "durationMs" | "DurationMs" => {
                    once(&mut seen, 1)?;
                    p.duration = c.num()?;
                    return Some(());
                }
                "userName" | "UserName" => (2, &mut p.user_name),
                "userEmail" | "UserEmail" => (3, &mut p.user_email),
                "clientIpAddress" | "ClientIpAddress" => (4, &mut p.client_ip),
                "protocol" | "Protocol" => (5, &mut p.protocol),
                "targetResourceId" | "TargetResourceId" => (6, &mut p.target_resource_id),
                "targetVMIPAddress" | "TargetVMIPAddress" | "targetVmIpAddress" => {
                    (7, &mut p.target_ip)
                }
                "resourceType" | "ResourceType" => (8, &mut p.resource_type),
                "subscriptionId" | "SubscriptionId" => (9, &mut p.subscription_id),
                "message" | "Message" => (10, &mut p.message),
                "tunnelId" | "TunnelId" => (11, &mut p.tunnel_id),
                "sessionStartTime" | "SessionStartTime" => (12, &mut p.session_start),
                "sessionEndTime" | "SessionEndTime" => (13, &mut p.session_end),
                _ => return c.skip(1),
            };
            once(&mut seen, bit)?;
            *slot = c.text()?;
            Some(())
        })?;
        Some(p)
    }
}

#[cfg(test)]
mod tests;

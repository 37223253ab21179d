//! Lenient scalar types for audit records: [`Text`] borrows strings from the input when it can and
//! turns numbers/booleans into text; [`Num`] accepts numbers and numeric strings. Objects or arrays
//! where a scalar is expected are consumed and read as empty, so one odd field never costs the record.
//! Record timestamps ([`timestamp`]): a fast path for what Azure Monitor writes
//! (`YYYY-MM-DDTHH:MM:SS[.f…]Z`); any other form goes to [`dates::timestamp`], so results never
//! differ (the general parser costs more than the rest of a record).

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::dates;

/// A string value, borrowed from the input unless it contained escapes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text::default())
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text::default())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

/// An integer given as a number or a numeric string; anything else reads as `None` inside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Num(pub Option<i64>);

impl Num {
    /// A numeric string (integer or decimal, surrounding spaces ignored); `Num(None)` otherwise.
    pub fn from_text(v: &str) -> Self {
        let t = v.trim();
        Self(
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().and_then(float_to_int)),
        )
    }
}

struct NumVisitor;

impl<'de> Visitor<'de> for NumVisitor {
    type Value = Num;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number")
    }
    fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
        Ok(Num(Some(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
        Ok(Num(i64::try_from(v).ok()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
        Ok(Num(float_to_int(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Num, E> {
        Ok(Num::from_text(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Num, E> {
        Ok(Num(None))
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Num, M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Num(None))
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Num, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Num(None))
    }
}

#[allow(clippy::cast_possible_truncation)]
fn float_to_int(v: f64) -> Option<i64> {
    // `as` saturates; durations and ports are far inside i64.
    v.is_finite().then_some(v as i64)
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor)
    }
}

/// Parses a timestamp like [`dates::timestamp`], faster for the common UTC form.
pub fn timestamp(text: &str) -> Option<OffsetDateTime> {
    utc_fixed(text.as_bytes()).or_else(|| dates::timestamp(text))
}

/// The value of the ASCII digits `b`, or `None` when one is not a digit.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` only.
fn utc_fixed(b: &[u8]) -> Option<OffsetDateTime> {
    if b.len() < 20 || b.len() > 30 || b.last() != Some(&b'Z') {
        return None;
    }
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', frac @ ..] if !frac.is_empty() => {
            let scale = 10u32.pow(9u32.checked_sub(u32::try_from(frac.len()).ok()?)?);
            digits(frac)? * scale
        }
        _ => return None,
    };
    let year = i32::try_from(digits(&b[0..4])?).ok()?;
    let month = Month::try_from(u8::try_from(digits(&b[5..7])?).ok()?).ok()?;
    let day = u8::try_from(digits(&b[8..10])?).ok()?;
    let (h, m, s) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if s > 59 {
        return None; // leap second: the general parser decides
    }
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms_nano(
        u8::try_from(h).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(s).ok()?,
        nanos,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod stamp_tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_the_general_parser() {
        let cases = [
            "2025-03-14T09:03:54.776Z",
            "2025-03-14T09:03:54Z",
            "2025-03-14T09:03:54.1Z",
            "2025-03-14T09:03:54.0000000Z",
            "2025-03-14T09:03:54.123456789Z",
            "2025-03-14T09:03:54.1234567891Z",
            "2025-03-14T09:03:54.Z",
            "2024-02-29T23:59:59.999Z",
            "2025-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-00-01T00:00:00Z",
            "2025-03-00T00:00:00Z",
            "2025-03-14T24:00:00Z",
            "2025-03-14T23:60:00Z",
            "2016-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2025-03-14t09:03:54Z",
            "2025-03-14T09:03:54z",
            "2025-03-14 09:03:54Z",
            "2025-03-14T09:03:54+01:00",
            "2025-03-14T09:03:54.5-05:30",
            "2025-03-14T09:03:54",
            "2025-03-14T09:03:54.776",
            " 2025-03-14T09:03:54Z ",
            "2025-3-14T09:03:54Z",
            "2025-03-14T09:03:5aZ",
            "+025-03-14T09:03:54Z",
            "2025-03-14T09:03:54.7a6Z",
            "",
            "Z",
            "not a time",
        ];
        for c in cases {
            assert_eq!(timestamp(c), dates::timestamp(c), "{c:?}");
        }
        assert!(
            utc_fixed(b"2025-03-14T09:03:54.776Z").is_some(),
            "fast path used"
        );
        assert!(utc_fixed(b"2025-03-14T09:03:54+01:00").is_none());
    }

    #[test]
    fn fraction_digits_scale_to_nanoseconds() {
        let t = timestamp("2025-03-14T09:03:54.5Z").expect("time");
        assert_eq!(t.nanosecond(), 500_000_000);
        let t = timestamp("2025-03-14T09:03:54.000000007Z").expect("time");
        assert_eq!(t.nanosecond(), 7);
    }
}

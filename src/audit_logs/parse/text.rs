//! Lenient scalar types for audit records: [`Text`] borrows strings from the input when it can and
//! turns numbers/booleans into text; [`Num`] accepts numbers and numeric strings. Objects or arrays
//! where a scalar is expected are consumed and read as empty, so one odd field never costs the record.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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

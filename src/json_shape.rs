//! A JSON value read as "an object of some type, `null`, or anything else", without failing on
//! anything else. The protocol needs it twice: the envelope's `Data`/`Metadata` (only the chosen
//! occurrence of a repeated key must be an object) and an event's `data` (not an object means
//! defaults apply).

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Which shape a JSON value had; an object is deserialized as `T`, anything else is drained.
#[derive(Debug, PartialEq, Eq)]
pub enum ObjectOr<T> {
    /// An object, read as `T` (an object `T` cannot read is an error, not `Other`).
    Object(T),
    /// `null`.
    Null,
    /// An array, string, number or boolean.
    Other,
}

impl<T> ObjectOr<T> {
    /// The object, if the value was one.
    pub fn object(self) -> Option<T> {
        match self {
            Self::Object(t) => Some(t),
            Self::Null | Self::Other => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AnyValue<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for AnyValue<T> {
            type Value = ObjectOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(ObjectOr::Object)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(ObjectOr::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(ObjectOr::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ObjectOr::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ObjectOr::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(ObjectOr::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(ObjectOr::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ObjectOr::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ObjectOr::Other)
            }
        }
        d.deserialize_any(AnyValue(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::ObjectOr;

    type Shape = ObjectOr<BTreeMap<String, u32>>;

    fn read(json: &str) -> Shape {
        serde_json::from_str(json).expect("any JSON value is accepted")
    }

    #[test]
    fn an_object_is_read_null_is_null_and_every_other_value_is_other() {
        let object = read(r#"{"a":1,"b":2}"#);
        assert_eq!(
            object,
            ObjectOr::Object([("a".into(), 1), ("b".into(), 2)].into())
        );
        assert_eq!(read("null"), ObjectOr::Null);
        for other in [r#"[1,[2,{"x":3}]]"#, "true", "-4", "7", "1.5", r#""text""#] {
            assert_eq!(read(other), ObjectOr::Other, "{other}");
        }
    }

    #[test]
    fn the_value_is_drained_so_what_follows_still_parses() {
        let pairs: Vec<(Shape, u8)> =
            serde_json::from_str(r#"[[[1,{"deep":[2]}],1],[{"a":3},2],["s",3]]"#).expect("parses");
        let tags: Vec<u8> = pairs.iter().map(|(_, t)| *t).collect();
        assert_eq!(tags, [1, 2, 3]);
        assert_eq!(pairs[1].0, ObjectOr::Object([("a".into(), 3)].into()));
    }

    #[test]
    fn an_object_of_the_wrong_members_is_an_error_not_other() {
        assert!(serde_json::from_str::<Shape>(r#"{"a":"not a number"}"#).is_err());
        assert_eq!(read(r#"{"a":1}"#).object().map(|m| m["a"]), Some(1));
        assert_eq!(read("[]").object(), None);
    }
}

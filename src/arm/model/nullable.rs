//! A field of a Resource Manager answer that may be absent or `null` reads as its default.

use serde::{Deserialize, Deserializer};

/// A field that may be absent or `null`: its default then.
pub(super) fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

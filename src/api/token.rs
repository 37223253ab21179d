//! A page of rows ([`Found`]) and the opaque token that continues it: base64url JSON `{d: day,
//! s: rows to skip in that day's sorted list, a: last index `RowKey` returned (index-served queries
//! only), f: query fingerprint}`. Bound to the query so a token cannot be replayed with other
//! filters (which would silently skip rows); anything malformed is a 400, never a restart from the
//! top.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::problem::ApiError;
use crate::tables::Entity;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Day partition.
    #[serde(rename = "d")]
    pub day: String,
    /// Rows of that day (in sort order) already returned.
    #[serde(rename = "s")]
    pub skip: usize,
    /// Index-served queries (`vm` / `user` filters): the last index `RowKey` returned.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// A page of rows and the cursor of the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Matching rows, in order.
    pub rows: Vec<Entity>,
    /// Where the next page starts; `None` at the end.
    pub next: Option<Cursor>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(flatten)]
    cursor: Cursor,
    f: String,
}

/// Encodes a cursor for the query with fingerprint `fp`.
pub fn encode(cursor: &Cursor, fp: &str) -> String {
    let wire = Wire {
        cursor: cursor.clone(),
        f: fp.to_owned(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
}

/// Decodes a token issued for fingerprint `fp` over `days`.
///
/// # Errors
/// 400 for a malformed token, one from another query, or a day outside the range.
pub fn decode(token: &str, fp: &str, days: &[String]) -> Result<Cursor, ApiError> {
    let bad = || ApiError::bad("continuation", "invalid or belongs to another query");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if wire.f != fp || !days.contains(&wire.cursor.day) {
        return Err(bad());
    }
    Ok(wire.cursor)
}

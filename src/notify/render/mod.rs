//! Rendering one notification for each kind of destination.
//!
//! [`Content`] is thin on purpose: only allow-listed fields of `data` (personal data only with
//! `NOTIFY_INCLUDE_PII=true`), so a producer adding a field never leaks it to a chat channel. It
//! keeps values raw: the chat renderers cut and escape them, [`webhook`] sends them as they are.

mod content;
mod links;
pub mod markdown;
pub mod slack;
pub mod teams;
pub mod webhook;

pub use content::{CUT, Content, Fact, MAX_FACT_CHARS, PII_FIELDS, THIN_FIELDS};
pub use links::{ContentOptions, Link};

use serde_json::Value;

/// Why `body`, rendered for `dest`, is more than the destination takes (`None`: it fits): Teams
/// [`teams::MAX_PAYLOAD`] (UTF-16 measure), Slack [`slack::MAX_BODY`], the webhook
/// [`webhook::MAX_BODY`]. The renderers cut values to fit; what still does not (the fixed parts
/// too long) can never be delivered there.
pub fn too_large(dest: super::routes::Destination, body: &Value) -> Option<String> {
    use super::routes::Destination;
    let (size, max) = match dest {
        Destination::Teams => (teams::size(body), teams::MAX_PAYLOAD),
        Destination::Slack => (body.to_string().len(), slack::MAX_BODY),
        Destination::Webhook => (body.to_string().len(), webhook::MAX_BODY),
    };
    (size > max).then(|| format!("the {dest} body is {size} bytes, more than the {max} it takes"))
}

#[cfg(test)]
mod tests;

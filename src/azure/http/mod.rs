//! The one HTTP client for the REST calls the product makes itself: the Table service, Resource
//! Manager, the Logs Query and Logs Ingestion APIs, and webhook delivery. Each try is authorised
//! ([`Auth`]: an account SAS in its query, a bearer token from the app's identity, or nothing),
//! bounded by the per-try timeout (longer than the server's own limit when the request sets one,
//! `Prefer: wait`), gated by a [`Pacer`](crate::azure::pace::Pacer) when the client has one and by
//! its spaced lane's next slot ([`Slots`](crate::azure::pace::Slots)) when the request names one,
//! and its failure mapped to an [`AzureError`](crate::azure::AzureError) (a 403 names the role the
//! request says it needs); the tries run under the client's [`Policy`](crate::azure::Policy)
//! through its [`Guard`](crate::azure::Guard), which also logs a failed call once. A request's
//! [`Hook`] sees each try (a webhook's fresh signature, its "429 inside a 200", its logs). A
//! request carries its body as bytes, so a JSON document, a multipart batch or a gzip-compressed
//! upload go the same way. Logs name the operation and host, never a query, path or token.

mod answer;
mod client;
pub mod lro;
mod request;
#[cfg(test)]
mod tests;

pub use answer::body_json;
pub use client::{Auth, Client};
pub use request::{Hook, Request, SERVER_WAIT_MARGIN};

//! The Functions host protocol (payload mode), and nothing of the domain.
//!
//! The envelopes, the outcome policy, poison quarantine and the axum glue that runs every
//! invocation the same way ([`route`]); `tests/e2e/protocol.rs` checks the contract end to end.

pub mod body;
pub mod decode;
pub mod failure;
pub mod outcome;
pub mod outputs;
pub mod quarantine;
mod request;
pub mod response;
pub mod route;

pub use decode::DecodeError;
pub use failure::{Failure, Stage};
pub use outcome::Outcome;
pub use outputs::Outputs;
pub use quarantine::Quarantine;
pub use request::InvokeRequest;
pub use route::{HasQuarantine, Invocation, invocation_route};

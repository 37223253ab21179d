//! The one way to call Azure, which every port stands on: where a connection leads and how it is
//! authorised, how long a call may take, how it is tried again, and what its failure means.
//!
//! - [`connection`]: storage connections resolved as the Functions host resolves them (endpoints,
//!   an account key or a managed identity); [`identity`]: the shared managed identity credential
//!   (its failures: [`identity_error`]);
//!   [`sas`]: SAS signing (account SAS for key connections, the HMAC every SAS is signed with).
//! - [`timeouts`]: per-try and total timeouts and the [`Guard`] every call runs under;
//!   [`retry`]: the one [`Policy`] (`Retry-After` read by [`retry_after`], jittered back-off, no wait past the caller's
//!   end); [`error`]: the one [`AzureError`], with the kinds callers act on.
//! - [`http`]: the one REST client (tables, Resource Manager, Log Analytics, Logs Ingestion,
//!   webhooks), paced by [`pace`] where Resource Manager reports its budget or a receiver states
//!   its rate (a spaced lane), with the one
//!   long-running-operation poller ([`http::lro`]); [`sdk`]: options for
//!   the SDK clients (blobs, queues), whose own retries are off so that the same policy tries
//!   them.
//! - [`endpoint`]: which endpoints a client may call (https, loopback http for tests).

pub mod connection;
pub mod endpoint;
pub mod error;
pub mod http;
pub mod identity;
pub mod identity_error;
pub mod pace;
pub mod retry;
pub mod retry_after;
pub mod sas;
pub mod sdk;
pub mod timeouts;

pub use error::{AzureError, found};
pub use retry::Policy;
pub use timeouts::{Guard, Timeouts};

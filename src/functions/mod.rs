//! The function entry points: one module per function family, each turning an invocation into a
//! call of its domain over the state's ports, and the result into an
//! [`Outcome`](crate::invocation::Outcome). Each function's path is in docs/architecture.md.

pub mod audit_logs;
pub mod binding;
pub mod custody;
mod ending;
pub mod estate;
pub mod evidence;
pub mod fanout;
pub mod integrity;
pub mod notify;
mod plan;
pub mod reconcile;
pub mod recordings;
pub mod retention;
pub mod reviews;
pub mod sentinel;

pub use self::binding::decode_event;

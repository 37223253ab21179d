//! The table port's test doubles (`test-support` only, never in the release build): the in-memory
//! fake ([`memory`]) and the decorator that runs a hook before every call ([`intercept`]).

pub mod intercept;
pub mod memory;

//! The table port's test doubles: the in-memory fake ([`memory`], its filter evaluation in
//! [`filter`]) and the decorator that runs a hook before every call ([`intercept`]).

pub mod filter;
pub mod intercept;
pub mod memory;

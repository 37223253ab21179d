//! The blob port's test doubles: the in-memory
//! fake ([`memory`], its tag filter in [`tag_expr`]) and the decorators that run a hook before
//! every call ([`intercept`]) or count the calls ([`counting`]).

pub mod counting;
pub mod intercept;
pub mod memory;
pub mod tag_expr;

//! The test doubles of `bastion-recordings`' ports and the one kit of its component tests, in a
//! dev-only crate (as cargo keeps `cargo-test-support`): the product's build never holds them.
//! `tests/`, `benches/` and `examples/` depend on this crate; the product's unit tests compile the
//! same source (`src/kit/`) as their `crate::testkit` module, so it names itself `crate::testkit`
//! here too, and the product `bastion_recordings` through its public API only.
//!
//! The binary `handler-in-memory` is the product's `handler` over in-memory stores.

#[path = "kit/mod.rs"]
pub mod testkit;

pub use testkit::*;

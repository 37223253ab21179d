//! The Bastion estate watched through Azure Resource Manager: each host's configuration,
//! diagnostic settings and recording storage checked every 15 minutes (`EstateCheck`) for what
//! would leave the catalogue silently incomplete; its live sessions, and their disconnects.

pub mod bypass;
pub mod check;
pub mod disconnect;
pub mod findings;
pub mod host;
mod identities;
pub mod level;
pub mod live;
pub mod rows;
pub mod settings;
pub mod shared;
pub mod store;
pub mod trail;
pub mod unaudited;
pub mod view;

pub use rows::{host_key, of_host};

/// The timer function.
pub const FUNCTION: &str = "EstateCheck";

#[cfg(test)]
mod tests;

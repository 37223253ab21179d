//! Chain of custody from the `StorageBlobLogs` of workspace `CUSTODY_WORKSPACE_ID`
//! (docs/custody.md): [`query`] the one query, [`changes`] the changes query, [`actor`] who made a
//! change (pure), [`awaited`] the lookups still waiting for their actor, [`lookup`] the `CustodyActor` pass, [`trail`]
//! a recording's trail, [`burst`] alert bursts folded per container, [`burst_actors`] the actors of their folded alerts, [`settings`] the custody settings.

pub mod actor;
pub mod awaited;
pub mod burst;
pub mod burst_actors;
pub mod burst_close;
pub mod changes;
pub mod lookup;
pub mod query;
pub mod settings;
pub mod trail;

pub use settings::CustodySettings;

#[cfg(test)]
mod rule_tests;
#[cfg(test)]
mod tests;

//! Azure Functions custom handler that catalogues Azure Bastion session recordings and audit logs,
//! enforces retention and sends notifications.
//!
//! # Layout
//! - [`invocation`]: the Functions host protocol (envelopes, decoding, outcome policy, quarantine).
//! - [`events`]: Event Grid / CloudEvents blob events and the timer payload.
//! - [`storage`], [`tables`], [`queues`]: the blob, table and queue ports (Azure and, for blobs
//!   and tables, in-memory implementations), with their deadlines and managed identity.
//! - [`recordings`], [`retention`], [`catalogue`], [`notify`]: the domain.
//! - [`cli`]: the binary's one-shot subcommands.
//! - [`app`]: state and router; [`config`] (with [`setting`]), [`telemetry`], [`clock`],
//!   [`retry_after`]: plumbing.

pub mod api;
pub mod app;
pub mod audit_logs;
pub mod backfill;
pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dates;
pub mod events;
pub mod functions;
pub mod health;
pub mod integrity;
pub mod invocation;
pub mod notify;
pub mod permissions;
pub mod queues;
pub mod recordings;
pub mod retention;
pub mod retry_after;
pub mod setting;
pub mod sources;
pub mod state;
pub mod storage;
pub mod tables;
pub mod telemetry;
#[cfg(test)]
mod testing;

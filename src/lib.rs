//! Azure Functions custom handler that catalogues Azure Bastion session recordings and audit logs,
//! enforces retention and sends notifications.
//!
//! # Layout
//! Layers, each naming only those below it (`tests/e2e/layers.rs` checks it):
//! - app: [`app`] (the router).
//! - entry points: [`functions`] (one module per function family), [`api`] (the catalogue HTTP
//!   API), [`cli`], [`backfill`] — the only code taking the whole [`state::AppState`].
//! - state: [`state`] (the seams built once, among them the [`ports::Ports`] every domain takes),
//!   [`config`]; and, in unit tests only, `testkit` (the one kit of the component tests and the
//!   ports' test doubles: the workspace crate `bastion-testkit`, whose source the unit tests
//!   compile into this crate).
//! - domain: [`recordings`], [`audit_logs`], [`join`] (recordings ↔ sessions), [`retention`], [`integrity`], [`notify`], [`health`],
//!   [`estate`] (the Bastion hosts through Resource Manager), [`authorization`] (who allowed
//!   each session), [`reviews`], [`sentinel`] (the
//!   export to Microsoft Sentinel).
//! - data: [`catalogue`] (rows, keys, index), [`sources`] (the watched containers), [`export`]
//!   (the Sentinel tables' rows and their outbox), [`spine`] (what the product reports, declared
//!   once, and the one path of a finding to its notification), [`ports`] (the one dependency value domains
//!   take: tables, sources, clock, outbox), [`pack`] (the key that signs an evidence pack and the
//!   paper its report is printed on).
//! - protocol: [`invocation`] (host envelopes, outcome policy, quarantine), [`events`].
//! - ports: [`storage`], [`tables`], [`queues`] (the Azure clients; their test doubles are in
//!   `bastion-testkit`, never in this crate's build), [`permissions`] (the RBAC
//!   permission of every operation), [`arm`] (Azure Resource Manager), [`ingestion`] (the Logs
//!   Ingestion API).
//! - Azure plumbing: [`azure`] (connections, identity, SAS signing, the one HTTP client, retry
//!   policy, error type and timeout guard every client above uses).
//! - plumbing: [`clock`], [`csv_text`], [`dates`], [`json_shape`], [`setting`], [`telemetry`].

pub mod activity;
pub mod api;
pub mod app;
pub mod arm;
pub mod audit_logs;
pub mod authorization;
pub mod azure;
pub mod backfill;
pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod config;
pub mod csv_text;
pub mod custody;
pub mod dates;
pub mod estate;
pub mod events;
pub mod evidence;
pub mod export;
pub mod fanout;
pub mod functions;
pub mod graph;
pub mod health;
pub mod ingestion;
pub mod integrity;
pub mod invocation;
pub mod join;
pub mod json_shape;
pub mod loganalytics;
pub mod names;
pub mod notify;
pub mod pack;
pub mod permissions;
pub mod ports;
pub mod queues;
pub mod recordings;
pub mod retention;
pub mod reviews;
pub mod sentinel;
pub mod setting;
pub mod sources;
pub mod spine;
pub mod state;
pub mod storage;
pub mod tables;
pub mod telemetry;
// The kit's source names this crate `bastion_recordings` and itself `crate::testkit`, as it does
// in the `bastion-testkit` crate: the unit tests compile the same source, with no second copy of
// this library.
#[cfg(test)]
extern crate self as bastion_recordings;
#[cfg(test)]
#[path = "../testkit/src/kit/mod.rs"]
#[allow(dead_code)]
mod testkit;

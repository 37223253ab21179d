//! The one integration-test binary: spawns the real `handler` (and `devhost`) processes and speaks
//! the Functions host protocol to them, against in-memory stores or Azurite (`TEST_AZURITE=1`).

mod architecture;
mod audit_logs;
mod backfill;
mod catalogue;
mod catalogue_auth;
mod catalogue_sessions;
mod devhost;
mod download_links;
mod drift;
mod endings;
mod estate;
mod evidence;
mod faults;
mod first_hour;
mod harness;
mod health;
mod identity;
mod layers;
mod notify;
mod package;
mod permissions;
mod pipeline;
mod protocol;
mod recordings;
mod release;
mod retention;
mod reviews;
mod sentinel;
mod settings_drift;
mod sources;
mod storage_contract;
mod tls_azurite;
mod ui;
mod workspaces;
mod writers;

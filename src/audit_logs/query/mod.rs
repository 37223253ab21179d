//! `AuditLogQuery` (timer, every minute): Bastion audit records read from Log Analytics
//! workspaces, folded, joined and checked exactly like the `PT1H.json` archive's.
//!
//! # Layout
//! - [`row`] (pure): a `MicrosoftAzureBastionAuditLogs` row → the storage path's [`Record`](super::parse::Record).
//! - [`window`] (pure): the per-workspace cursor on `ingestion_time()`, overlap and de-duplication.
//! - [`kql`] (pure): the page query and its `timespan`.

pub mod kql;
pub mod row;
pub mod window;

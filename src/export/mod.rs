//! Rows for Microsoft Sentinel's custom tables, declared once in `sentinel/tables.json` (read by
//! the Bicep too), recorded where their fact changes into the durable [`outbox`] (an upsert: the
//! same change again writes nothing new) until `SentinelExport` has sent them.

pub mod outbox;
pub mod rows;
pub mod table;
#[cfg(test)]
mod tests;

pub use outbox::Outbox;
pub use table::{Table, declaration};

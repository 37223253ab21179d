//! External event schemas, declaring only the fields the product reads.
//!
//! [`event_grid`] normalises Event Grid and CloudEvents 1.0 blob events into one [`event_grid::BlobEvent`];
//! [`timer`] decodes the host's `TimerInfo`. Unknown fields are ignored, never rejected. The Bastion
//! audit-record schema lives in `audit_logs::record` because only that domain reads it.

pub mod event_grid;
pub mod timer;

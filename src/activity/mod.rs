//! The Activity log as the workspaces hold it (`AzureActivity`), read once for both the other
//! doors (estate) and authorization's just-in-time evidence: its rows paged through, folded into
//! events, a failure told from a refusal, and the just-in-time requests they carry.

pub mod events;
pub mod failure;
pub mod jit;
pub mod read;

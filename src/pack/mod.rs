//! What every evidence pack is made with, read once at start-up by the configuration: the key
//! that signs it and verifies it ([`key`], `EVIDENCE_SIGNING_KEY`) and the paper its report is
//! printed on ([`paper`]). The evidence domain ([`crate::evidence`]) builds the packs with them.

pub mod key;
pub mod paper;

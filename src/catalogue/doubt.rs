//! Why a blob that names or fits a session cannot be its recording: the doubt a join records
//! (`MatchReason`) and a write's verdict holds.

use crate::names::named;

named! {
    /// Why a blob that names or fits a session cannot be its recording (`MatchReason`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Doubt {
        /// Shorter than `RECORDING_MIN_BYTES` when catalogued.
        TooSmall = "too-small",
        /// Created (`x-ms-creation-time`) outside every candidate session's window plus
        /// `RECORDING_VOUCH_LAG_HOURS`.
        OutsideWindow = "outside-window",
        /// Its content was written, as `StorageBlobLogs` show, neither through a SAS nor by an
        /// Entra identity (an account key, anonymously): not the way Bastion writes
        /// ([`super::writer`]).
        OtherWriter = "written-by-other-principal",
        /// Its content was written, as `StorageBlobLogs` show, by an Entra identity other than the
        /// recording identity of the hosts recording into its container ([`super::identity`]).
        NotRecordingIdentity = "writer-not-recording-identity",
        /// Matched by time alone (its name and metadata name no session) and the storage logs have
        /// not shown its content written by the hosts' recording identity (or their SAS): anyone who
        /// can write to the container can plant a blob during a session, so a time match vouches
        /// only once its writer does ([`super::writer`]).
        WriterUnconfirmed = "writer-unconfirmed",
    }
}

impl Doubt {
    /// True for a doubt about who wrote the content.
    pub fn is_writers(self) -> bool {
        matches!(self, Self::OtherWriter | Self::NotRecordingIdentity)
    }
}

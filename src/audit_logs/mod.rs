//! Audit logs: Bastion `PT1H.json` append blobs (and workspace rows, [`query`]) → sessions →
//! joined recordings and detections. Each module's path is in `docs/architecture.md`.

pub mod created;
pub mod detect;
pub mod error;
pub mod function_names;
pub mod parse;
pub mod path;
pub mod query;
pub mod repo;
pub mod sessions;
pub mod settings;
pub mod tail;

pub use error::Error;
pub use function_names::{RECONCILE_FUNCTION, TAIL_FUNCTION};
pub use settings::AuditSettings;

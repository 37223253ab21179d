//! Tables of the audit-log domain (logical names; the table client applies `TABLE_PREFIX`).
//!
//! | table | PK | RK | purpose |
//! |---|---|---|---|
//! | `auditcursors` | hour day `YYYY-MM-DD` | base64url(blob name) | tail position per `PT1H.json` |
//! | `failedlogins` | base64url(window, dimension, value, VM) | tunnelId | idempotent failed-login counts |
//! | `failedlogins` | `~pending` | an attempts partition | burst checks still to run (cleared after a successful check) |
//! | `auditstate` | `state` | fact name | dedupe markers of episode notifications |

mod cursor;
mod tables;

pub use cursor::{Cursor, CursorRepo};
pub use tables::{CURSORS_TABLE, FAILED_TABLE, STATE_TABLE};

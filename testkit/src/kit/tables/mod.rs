//! The table port's test doubles: the in-memory fake ([`memory`], its filter evaluation in
//! [`filter`]) and the decorator that runs a hook before every call ([`intercept`]).

pub mod filter;
pub mod intercept;
pub mod memory;

use std::sync::Arc;

use bastion_recordings::catalogue::repo::CatalogueRepo;
use bastion_recordings::clock::{Clock, SystemClock};
use bastion_recordings::export::Outbox;
use bastion_recordings::tables::TableStore;

/// The catalogue's repository over `tables` with the Sentinel export off: what a test reads rows
/// through, or puts a row in place with.
pub fn catalogue(tables: Arc<dyn TableStore>) -> CatalogueRepo {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    CatalogueRepo::exporting(tables, &Outbox::off(), &clock)
}

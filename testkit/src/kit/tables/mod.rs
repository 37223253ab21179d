//! The table port's test doubles: the in-memory fake ([`memory`], its filter evaluation in
//! [`filter`]), the decorator that runs a hook before every call ([`intercept`]), the catalogue's
//! repository tests read through ([`catalogue`]) and the hostile texts every key builder is fed
//! ([`hostile_texts`]).

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

/// What someone else may put in a key: the service's forbidden characters, control characters,
/// our own digest prefix, and text far over the limit.
pub fn hostile_texts() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "a/b",
        "a\\b",
        "#frag",
        "what?",
        "tab\there",
        "nl\nthere",
        "nul\u{0}",
        "del\u{7f}",
        "c1\u{85}",
        "sha256.deadbeef",
        "'quoted'",
        "..",
        "~~",
        "é日本\u{202E}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("x".repeat(4096));
    v.push("/".repeat(4096));
    v.push("é".repeat(2048));
    v.push(format!("sha256.{}", "0".repeat(64)));
    v
}

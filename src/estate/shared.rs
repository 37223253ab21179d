//! What the hosts of one `EstateCheck` tick read alike, read once per instance: the blob service
//! and container of the account they record into, the blob service's diagnostic settings, a
//! principal's role assignments there and the role definitions. Hosts mostly record into a few
//! accounts, so a tick's units on one instance ask Resource Manager about each account once, not
//! once per host. Kept for the tick (its time, shared by all its units) and the one before; an
//! answer that failed is not kept (the next host asks again, within its own budget).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;
use tokio::sync::OnceCell;

use crate::arm::{BlobService, Container, DiagnosticSetting, RoleAssignment, RoleDefinition};
use crate::azure::AzureError;

/// The reads of the latest ticks, by tick time.
#[derive(Debug, Default)]
pub struct Shared {
    ticks: Mutex<BTreeMap<OffsetDateTime, Arc<Reads>>>,
}

impl Shared {
    /// The reads of the tick at `at` (a unit's time): the last two ticks' are kept.
    pub fn of(&self, at: OffsetDateTime) -> Arc<Reads> {
        let mut ticks = lock(&self.ticks);
        let reads = ticks.entry(at).or_default().clone();
        while ticks.len() > 2 {
            ticks.pop_first();
        }
        reads
    }
}

/// One answer per key, read by the first asking and waited for by the others.
pub(super) type Cells<T> = Mutex<BTreeMap<String, Arc<OnceCell<T>>>>;

/// One tick's shared reads, each through `once` by its resource's names.
#[derive(Debug, Default)]
pub struct Reads {
    pub(super) blob_services: Cells<BlobService>,
    pub(super) containers: Cells<Container>,
    pub(super) diagnostics: Cells<Vec<DiagnosticSetting>>,
    pub(super) assignments: Cells<Vec<RoleAssignment>>,
    pub(super) definitions: Cells<RoleDefinition>,
}

/// The answer kept under `key` (any case), else `read`'s, kept when it succeeded.
pub(super) async fn once<T: Clone>(
    cells: &Cells<T>,
    key: &[&str],
    read: impl Future<Output = Result<T, AzureError>>,
) -> Result<T, AzureError> {
    let key = key.join("\n").to_ascii_lowercase();
    let cell = lock(cells).entry(key).or_default().clone();
    cell.get_or_try_init(|| read).await.cloned()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn the_hosts_of_a_tick_read_an_account_once_and_a_failed_read_again() {
        let at = time::macros::datetime!(2026-11-25 12:15 UTC);
        let shared = Shared::default();
        let calls = &AtomicUsize::new(0);
        let read = move |ok: bool| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            ok.then(BlobService::default)
                .ok_or_else(|| AzureError::Transient("reset".into()))
        };
        let tick = shared.of(at);
        // Five hosts at once, the account named in two cases: one read.
        let accounts = [["acc"], ["ACC"], ["acc"], ["Acc"], ["acc"]];
        let reads = (accounts.iter()).map(|a| once(&tick.blob_services, a, read(true)));
        let answers = futures::future::join_all(reads).await;
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        let kept = shared.of(at);
        once(&kept.blob_services, &["acc"], read(true))
            .await
            .expect("kept");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A failed read is not kept.
        let failed = once(&tick.blob_services, &["other"], read(false)).await;
        assert!(failed.is_err());
        (once(&tick.blob_services, &["other"], read(true)).await).expect("read again");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // The next tick reads again; the tick before last is dropped.
        let next = shared.of(at + time::Duration::minutes(15));
        once(&next.blob_services, &["acc"], read(true))
            .await
            .expect("read");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        shared.of(at + time::Duration::minutes(30));
        assert_eq!(lock(&shared.ticks).len(), 2);
    }
}

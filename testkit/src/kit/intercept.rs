//! The one decorator both ports' test doubles wrap a store with:
//! [`Intercepted`] runs a hook before every call and forwards it (the blob port's forwarding is in
//! `storage::intercept`, the table port's in `tables::intercept`), and the
//! counting hook, [`Counter`], counts calls per (operation, container or table) for benchmarks and
//! tests measuring storage round trips.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// `inner`, with `hook` run before every call (of either port).
#[derive(Debug, Default)]
pub struct Intercepted<S, H> {
    inner: S,
    hook: H,
}

impl<S, H> Intercepted<S, H> {
    /// Wraps `inner`.
    pub fn with(inner: S, hook: H) -> Self {
        Self { inner, hook }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The hook.
    pub fn hook(&self) -> &H {
        &self.hook
    }
}

/// Calls per (operation, target): an operation is the port method's name.
type Hits = BTreeMap<(&'static str, String), u64>;

/// The hook that counts every call (successful and failed alike), and may run a closure on each.
#[derive(Default)]
pub struct Counter {
    hits: Mutex<Hits>,
    each: Option<Box<dyn Fn() + Send + Sync>>,
}

impl Counter {
    /// Counts one call of `op` on `target` (a container or a table).
    pub fn hit(&self, op: &'static str, target: &str) {
        // A lock per call is noise beside a round trip; the decorator serves tests and benches.
        if let Ok(mut hits) = self.hits.lock() {
            *hits.entry((op, target.to_owned())).or_default() += 1;
        }
        if let Some(each) = &self.each {
            each();
        }
    }

    fn hits(&self) -> Hits {
        self.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

impl<S> Intercepted<S, Counter> {
    /// Wraps `inner`, counting from zero.
    pub fn new(inner: S) -> Self {
        Self::with(inner, Counter::default())
    }

    /// Wraps `inner`, counting, and runs `each` on every call (a test advances its clock there:
    /// a slow store without sleeping).
    pub fn on_each_call(inner: S, each: impl Fn() + Send + Sync + 'static) -> Self {
        let each: Box<dyn Fn() + Send + Sync> = Box::new(each);
        let hook = Counter {
            each: Some(each),
            ..Counter::default()
        };
        Self::with(inner, hook)
    }

    /// Calls so far: all of them, or those on `target` (container or table), of operation `op`.
    pub fn count(&self, target: Option<&str>, op: Option<&str>) -> u64 {
        let hits = self.hook().hits();
        hits.iter()
            .filter(|((o, t), _)| target.is_none_or(|x| x == t) && op.is_none_or(|x| x == *o))
            .map(|(_, n)| n)
            .sum()
    }

    /// `(operation, target, count)` for every pair called at least once, by operation then target.
    pub fn by_table(&self) -> Vec<(&'static str, String, u64)> {
        let hits = self.hook().hits();
        hits.into_iter().map(|((op, t), n)| (op, t, n)).collect()
    }

    /// Total calls so far.
    pub fn total(&self) -> u64 {
        self.count(None, None)
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        if let Ok(mut hits) = self.hook().hits.lock() {
            hits.clear();
        }
    }
}

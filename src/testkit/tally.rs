//! A table decorator for component tests: counts calls per table and operation, and can make every
//! call take time on a fixed clock (a slow store, without sleeping).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use time::Duration;

use crate::clock::FixedClock;
use crate::tables::intercept::{BeforeTableCall, InterceptedTables, TableCall};
use crate::tables::{TableError, TableStore};

/// Counts per (table, operation), and the clock to advance per call.
#[derive(Default)]
pub struct Hits {
    counts: Mutex<BTreeMap<(String, &'static str), u64>>,
    slow: Option<(Arc<FixedClock>, Duration)>,
}

/// The app's tables, counted (and optionally slow).
pub type Tally = InterceptedTables<Arc<dyn TableStore>, Hits>;

impl InterceptedTables<Arc<dyn TableStore>, Hits> {
    pub fn new(inner: Arc<dyn TableStore>) -> Self {
        Self::with(inner, Hits::default())
    }

    /// Every call advances `clock` by `per_call`.
    pub fn slow(self, clock: Arc<FixedClock>, per_call: Duration) -> Self {
        let inner = self.inner().clone();
        Self::with(
            inner,
            Hits {
                slow: Some((clock, per_call)),
                ..Hits::default()
            },
        )
    }

    /// Calls so far: all of them, or those on `table` with operation `op` (`get`, `write`,
    /// `delete`, `query`, `ensure`).
    pub fn count(&self, table: Option<&str>, op: Option<&str>) -> u64 {
        self.hook()
            .counts
            .lock()
            .expect("lock")
            .iter()
            .filter(|((t, o), _)| table.is_none_or(|x| x == t) && op.is_none_or(|x| x == *o))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn reset(&self) {
        self.hook().counts.lock().expect("lock").clear();
    }
}

#[async_trait::async_trait]
impl BeforeTableCall for Hits {
    async fn before(&self, call: TableCall<'_>) -> Result<(), TableError> {
        *self
            .counts
            .lock()
            .expect("lock")
            .entry((call.table().to_owned(), call.op()))
            .or_default() += 1;
        if let Some((clock, d)) = &self.slow {
            clock.advance(*d);
        }
        Ok(())
    }
}

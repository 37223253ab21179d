//! The table port's side of [`Intercepted`]: the [`TableCall`]s a hook sees, the forwarding of
//! every [`TableStore`] method, and the counting hook's table side ([`CountingTables`]).
//!
//! Recording which table operations a function performs (the permission drift test), counting
//! round trips, or injecting a failure (before the call) or a lost answer (after it succeeded)
//! needs "do something, then call the wrapped store"; a hook only says what happens around which
//! call. Each call names its REST operation in the permission table's vocabulary ([`Operation`]).

use std::sync::Arc;

use async_trait::async_trait;

use crate::testkit::intercept::Counter;
pub use crate::testkit::intercept::Intercepted;
use crate::testkit::tables::memory::InMemoryTables;
use bastion_recordings::azure::AzureError;
use bastion_recordings::permissions::Operation;
use bastion_recordings::tables::rest::TableRestClient;
use bastion_recordings::tables::{Entity, Filter, QueryPage, Stored, TableStore, WriteMode};

/// The call about to be made, with the table it addresses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TableCall<'a> {
    /// `ensure_table`
    EnsureTable(&'a str),
    /// `get` (one entity by key)
    Get(&'a str),
    /// `write`, with its mode (insert, upsert or ETag-conditional replace) and the entity
    Write(&'a str, &'a WriteMode, &'a Entity),
    /// `delete`
    Delete(&'a str),
    /// `query` (one page), with its filter
    Query(&'a str, Option<&'a Filter>),
    /// `list_tables`, with the prefix
    ListTables(&'a str),
    /// `delete_table`
    DeleteTable(&'a str),
    /// `batch` (one entity group transaction), with its writes
    Batch(&'a str, &'a [(Entity, WriteMode)]),
}

impl TableCall<'_> {
    /// The port method's name: `ensure`, `get`, `write`, `delete`, `query` or `batch` (what
    /// counters report: a batch is one round trip).
    pub fn op(&self) -> &'static str {
        match self {
            Self::EnsureTable(_) => "ensure",
            Self::Get(_) => "get",
            Self::Write(..) => "write",
            Self::Delete(_) => "delete",
            Self::Query(..) => "query",
            Self::ListTables(_) => "list_tables",
            Self::DeleteTable(_) => "delete_table",
            Self::Batch(..) => "batch",
        }
    }

    /// The REST operations the call performs (one, but for a transaction of writes and deletes).
    pub fn operations(&self) -> Vec<Operation> {
        let one = match self {
            Self::EnsureTable(_) => Operation::CreateTable,
            Self::Get(_) | Self::Query(..) => Operation::QueryEntities,
            Self::ListTables(_) => Operation::QueryTables,
            Self::DeleteTable(_) => Operation::DeleteTable,
            Self::Write(_, WriteMode::Insert, _) => Operation::InsertEntity,
            Self::Write(_, WriteMode::Upsert, _) => Operation::InsertOrReplaceEntity,
            Self::Write(_, WriteMode::IfMatch(_), _) => Operation::UpdateEntity,
            Self::Delete(_) | Self::Write(_, WriteMode::Delete(_), _) => Operation::DeleteEntity,
            // A transaction needs the permissions of all its writes: one mode's when they share it,
            // else Insert Or Replace's, whose one permission (`entities/write`) authorizes every
            // mode; and Delete Entity's when it removes a row.
            Self::Batch(t, writes) => {
                let (deletes, writes): (Vec<_>, Vec<_>) = writes
                    .iter()
                    .partition(|(_, m)| matches!(m, WriteMode::Delete(_)));
                let mut ops = writes
                    .iter()
                    .map(|(e, m)| Self::Write(t, m, e).operations()[0]);
                let mut out: Vec<Operation> = ops.next().into_iter().collect();
                if ops.any(|op| Some(op) != out.first().copied()) {
                    out = vec![Operation::InsertOrReplaceEntity];
                }
                if !deletes.is_empty() {
                    out.push(Operation::DeleteEntity);
                }
                return out;
            }
        };
        vec![one]
    }

    /// The table the call addresses.
    pub fn table(&self) -> &str {
        match self {
            Self::EnsureTable(t)
            | Self::Get(t)
            | Self::Write(t, ..)
            | Self::Delete(t)
            | Self::Query(t, _)
            | Self::ListTables(t)
            | Self::DeleteTable(t)
            | Self::Batch(t, _) => t,
        }
    }
}

/// What runs around each table call; both default to doing nothing.
#[async_trait]
pub trait BeforeTableCall: Send + Sync + 'static {
    /// Runs before `call`. An error is returned in place of the call's own result (the wrapped
    /// store is then not called).
    async fn before(&self, _call: TableCall<'_>) -> Result<(), AzureError> {
        Ok(())
    }

    /// Runs after `call` succeeded. An error is returned in place of its answer (the call's effect
    /// stays: an answer lost on the way back).
    fn after(&self, _call: TableCall<'_>) -> Result<(), AzureError> {
        Ok(())
    }
}

impl<T, H: BeforeTableCall> Intercepted<T, H> {
    /// Runs `run` (a call of the wrapped store) between the hook's `before` and `after` for `call`.
    async fn table_call<R>(
        &self,
        call: TableCall<'_>,
        run: impl Future<Output = Result<R, AzureError>> + Send,
    ) -> Result<R, AzureError> {
        self.hook().before(call).await?;
        let answer = run.await?;
        self.hook().after(call).map(|()| answer)
    }
}

/// What an [`Intercepted`] table store wraps: a store of its own, or one shared with the test.
pub trait Wrapped: Send + Sync + 'static {
    /// The store the calls go to.
    fn store(&self) -> &dyn TableStore;
}

/// Implements [`Wrapped`] for stores wrapped as they are.
macro_rules! wrapped_as_is {
    ($($store:ty),+) => {$(
        impl Wrapped for $store {
            fn store(&self) -> &dyn TableStore {
                self
            }
        }
    )+};
}

wrapped_as_is!(InMemoryTables, TableRestClient);

impl<T: Wrapped, H: BeforeTableCall> Wrapped for Intercepted<T, H> {
    fn store(&self) -> &dyn TableStore {
        self
    }
}

impl<T: TableStore> Wrapped for Arc<T> {
    fn store(&self) -> &dyn TableStore {
        &**self
    }
}

impl Wrapped for Arc<dyn TableStore> {
    fn store(&self) -> &dyn TableStore {
        &**self
    }
}

#[async_trait]
impl<T: Wrapped, H: BeforeTableCall> TableStore for Intercepted<T, H> {
    async fn ensure_table(&self, table: &str) -> Result<(), AzureError> {
        let run = self.inner().store().ensure_table(table);
        self.table_call(TableCall::EnsureTable(table), run).await
    }
    async fn get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, AzureError> {
        let run = self.inner().store().get(table, pk, rk);
        self.table_call(TableCall::Get(table), run).await
    }
    async fn write(
        &self,
        table: &str,
        entity: &Entity,
        mode: WriteMode,
    ) -> Result<String, AzureError> {
        let run = self.inner().store().write(table, entity, mode.clone());
        self.table_call(TableCall::Write(table, &mode, entity), run)
            .await
    }
    async fn delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), AzureError> {
        let run = self.inner().store().delete(table, pk, rk, etag);
        self.table_call(TableCall::Delete(table), run).await
    }
    async fn list_tables(&self, prefix: &str) -> Result<Vec<String>, AzureError> {
        let run = self.inner().store().list_tables(prefix);
        self.table_call(TableCall::ListTables(prefix), run).await
    }
    async fn delete_table(&self, table: &str) -> Result<(), AzureError> {
        let run = self.inner().store().delete_table(table);
        self.table_call(TableCall::DeleteTable(table), run).await
    }
    async fn query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, AzureError> {
        let run = self.inner().store().query(table, filter, top, continuation);
        self.table_call(TableCall::Query(table, filter), run).await
    }
    async fn batch(
        &self,
        table: &str,
        writes: &[(Entity, WriteMode)],
    ) -> Result<Vec<String>, AzureError> {
        let run = self.inner().store().batch(table, writes);
        self.table_call(TableCall::Batch(table, writes), run).await
    }
}

#[async_trait]
impl BeforeTableCall for Counter {
    async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
        self.hit(call.op(), call.table());
        Ok(())
    }
}

/// Wraps a table store and counts every call (see [`Counter`]).
pub type CountingTables<T> = Intercepted<T, Counter>;

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;
    use crate::testkit::tables::memory::InMemoryTables;

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    #[async_trait]
    impl BeforeTableCall for Log {
        async fn before(&self, call: TableCall<'_>) -> Result<(), AzureError> {
            let filter = match call {
                TableCall::Query(_, f) => f.map(Filter::to_odata),
                TableCall::Write(_, mode, e) => Some(format!("{mode:?} {}", e["RowKey"])),
                _ => None,
            };
            self.0.lock().expect("log").push(format!(
                "{} {}{}",
                call.op(),
                call.table(),
                filter.map(|f| format!(" {f}")).unwrap_or_default()
            ));
            if call == TableCall::Delete("refused") {
                return Err(AzureError::Permanent("HTTP 403: denied".into()));
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn hook_sees_every_call_and_can_refuse_one() {
        let t = Intercepted::with(InMemoryTables::new(), Log::default());
        let e = json!({"PartitionKey": "p", "RowKey": "r"})
            .as_object()
            .cloned()
            .expect("object");
        t.ensure_table("t").await.expect("create");
        t.write("t", &e, WriteMode::Insert).await.expect("insert");
        t.get("t", "p", "r").await.expect("get");
        t.query("t", Some(&Filter::partition("p")), None, None)
            .await
            .expect("query");
        t.delete("t", "p", "r", None).await.expect("delete");
        assert!(matches!(
            t.delete("refused", "p", "r", None).await,
            Err(AzureError::Permanent(_))
        ));
        let log = t.hook().0.lock().expect("log").clone();
        assert_eq!(
            log,
            [
                "ensure t",
                "write t Insert \"r\"",
                "get t",
                "query t PartitionKey eq 'p'",
                "delete t",
                "delete refused"
            ]
        );
        let write_entity = Entity::new;
        let write = TableCall::Write("x", &WriteMode::Upsert, &Entity::new());
        assert_eq!((write.table(), write.op()), ("x", "write"));
        assert_eq!(write.operations(), [Operation::InsertOrReplaceEntity]);
        let etag = WriteMode::IfMatch("e".into());
        let replace = TableCall::Write("t", &etag, &write_entity());
        assert_eq!(replace.operations(), [Operation::UpdateEntity]);
        assert_eq!(TableCall::Get("t").operations(), [Operation::QueryEntities]);
        let inserts = [
            (write_entity(), WriteMode::Insert),
            (write_entity(), WriteMode::Insert),
        ];
        let batch = TableCall::Batch("t", &inserts);
        assert_eq!(
            (batch.op(), batch.operations()),
            ("batch", vec![Operation::InsertEntity])
        );
        let mixed = [
            (write_entity(), WriteMode::Insert),
            (write_entity(), etag.clone()),
        ];
        assert_eq!(
            TableCall::Batch("t", &mixed).operations(),
            [Operation::InsertOrReplaceEntity],
            "a mixed batch needs what authorizes every write"
        );
        let moving = [
            (write_entity(), WriteMode::Delete("*".into())),
            (write_entity(), etag.clone()),
        ];
        assert_eq!(
            TableCall::Batch("t", &moving).operations(),
            [Operation::UpdateEntity, Operation::DeleteEntity],
            "a batch that removes a row needs Delete Entity as well"
        );
    }

    #[tokio::test]
    async fn counts_each_operation_per_table_including_failures() {
        let t = CountingTables::new(InMemoryTables::new());
        let e = json!({"PartitionKey": "p", "RowKey": "r"})
            .as_object()
            .cloned()
            .expect("object");
        assert!(
            t.write("t", &e, WriteMode::Upsert).await.is_err(),
            "no table yet"
        );
        t.ensure_table("t").await.expect("create");
        t.write("t", &e, WriteMode::Upsert).await.expect("write");
        t.get("t", "p", "r").await.expect("get");
        t.query("u", None, None, None).await.ok();
        assert_eq!((t.count(Some("t"), Some("write")), t.total()), (2, 5));
        let by = |op: &'static str, table: &str, n| (op, table.to_owned(), n);
        let expected = [
            by("ensure", "t", 1),
            by("get", "t", 1),
            by("query", "u", 1),
            by("write", "t", 2),
        ];
        assert_eq!(t.by_table(), expected);
        t.reset();
        assert_eq!((t.total(), t.by_table().len()), (0, 0));
    }
}

//! A [`TableStore`] decorator that runs a hook before every call, then forwards it.
//!
//! The table counterpart of [`crate::storage::intercept`]: recording which table operations a
//! function performs (the permission drift test maps them to RBAC data actions) or injecting a
//! failure needs "do something, then call the wrapped store"; a hook only says what happens before
//! which [`TableCall`].

use async_trait::async_trait;

use super::{Entity, Filter, QueryPage, Stored, TableError, TableStore, WriteMode};

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
}

impl TableCall<'_> {
    /// The operations' names, in the order of [`op_index`](Self::op_index).
    pub const OPERATIONS: [&'static str; 5] = ["ensure", "get", "write", "delete", "query"];

    /// The operation's place in [`OPERATIONS`](Self::OPERATIONS) (counters keep an array).
    pub fn op_index(&self) -> usize {
        match self {
            Self::EnsureTable(_) => 0,
            Self::Get(_) => 1,
            Self::Write(..) => 2,
            Self::Delete(_) => 3,
            Self::Query(..) => 4,
        }
    }

    /// The operation's name: `ensure`, `get`, `write`, `delete` or `query`.
    pub fn op(&self) -> &'static str {
        Self::OPERATIONS[self.op_index()]
    }

    /// The table the call addresses.
    pub fn table(&self) -> &str {
        match self {
            Self::EnsureTable(t)
            | Self::Get(t)
            | Self::Write(t, ..)
            | Self::Delete(t)
            | Self::Query(t, _) => t,
        }
    }
}

/// What runs before each call. An error is returned in place of the call's own result (the
/// wrapped store is then not called).
#[async_trait]
pub trait BeforeTableCall: Send + Sync + 'static {
    /// Runs before `call`.
    async fn before(&self, call: TableCall<'_>) -> Result<(), TableError>;
}

/// `inner`, with `hook` run before every call.
#[derive(Debug, Default)]
pub struct InterceptedTables<T, H> {
    inner: T,
    hook: H,
}

impl<T, H> InterceptedTables<T, H> {
    /// Wraps `inner`.
    pub fn with(inner: T, hook: H) -> Self {
        Self { inner, hook }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The hook.
    pub fn hook(&self) -> &H {
        &self.hook
    }
}

#[async_trait]
impl<T: TableStore, H: BeforeTableCall> TableStore for InterceptedTables<T, H> {
    async fn ensure_table(&self, table: &str) -> Result<(), TableError> {
        self.hook.before(TableCall::EnsureTable(table)).await?;
        self.inner.ensure_table(table).await
    }
    async fn get(&self, table: &str, pk: &str, rk: &str) -> Result<Option<Stored>, TableError> {
        self.hook.before(TableCall::Get(table)).await?;
        self.inner.get(table, pk, rk).await
    }
    async fn write(
        &self,
        table: &str,
        entity: &Entity,
        mode: WriteMode,
    ) -> Result<String, TableError> {
        self.hook
            .before(TableCall::Write(table, &mode, entity))
            .await?;
        self.inner.write(table, entity, mode).await
    }
    async fn delete(
        &self,
        table: &str,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
    ) -> Result<(), TableError> {
        self.hook.before(TableCall::Delete(table)).await?;
        self.inner.delete(table, pk, rk, etag).await
    }
    async fn query(
        &self,
        table: &str,
        filter: Option<&Filter>,
        top: Option<u32>,
        continuation: Option<String>,
    ) -> Result<QueryPage, TableError> {
        self.hook.before(TableCall::Query(table, filter)).await?;
        self.inner.query(table, filter, top, continuation).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;
    use crate::tables::memory::InMemoryTables;

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    #[async_trait]
    impl BeforeTableCall for Log {
        async fn before(&self, call: TableCall<'_>) -> Result<(), TableError> {
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
                return Err(TableError::Permanent("HTTP 403: denied".into()));
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn hook_sees_every_call_and_can_refuse_one() {
        let t = InterceptedTables::with(InMemoryTables::new(), Log::default());
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
            Err(TableError::Permanent(_))
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
        let write = TableCall::Write("x", &WriteMode::Upsert, &Entity::new());
        assert_eq!((write.table(), write.op_index()), ("x", 2));
    }
}

//! A Logs Query API answer read as a stream: deserialized on a blocking thread from the body's
//! chunks one row at a time, over bounded channels (a result can be ~64 MB).

use std::io::Read;

use bytes::Bytes;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer as _};
use serde_json::Value;
use tokio::sync::mpsc;

/// Body chunks buffered between the network and the parser.
const CHUNKS: usize = 8;
/// Rows buffered between the parser and the consumer.
const ROWS: usize = 512;

/// One piece of an answer, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// The first table's column names (before its rows).
    Columns(Vec<String>),
    /// One row of the first table.
    Row(Vec<Value>),
    /// The answer ended; `Some` carries a partial-result error (`code: message`): rows are missing.
    End(Option<String>),
    /// The body broke off or is not the documented shape.
    Broken(String),
}

/// An answer being read.
#[derive(Debug)]
pub struct Answer {
    rx: mpsc::Receiver<Item>,
}

impl Answer {
    /// The next item; after `End` or `Broken`, `None`.
    pub async fn next(&mut self) -> Option<Item> {
        self.rx.recv().await
    }

    /// An answer with no table and no rows (a 204: the workspace holds no data).
    pub fn empty() -> Self {
        Self::from_bytes(&br#"{"tables":[]}"#[..])
    }

    /// Reads the answer in `body` (a whole body, for fakes and tests).
    pub fn from_bytes(body: impl Into<Bytes>) -> Self {
        let (tx, rx) = mpsc::channel(1);
        let _ = tx.try_send(Ok(body.into()));
        Self::from_chunks(rx)
    }

    /// Reads the answer from `response`'s body as it arrives.
    pub fn from_response(mut response: reqwest::Response) -> Self {
        let (tx, rx) = mpsc::channel(CHUNKS);
        tokio::spawn(async move {
            loop {
                let chunk = match response.chunk().await {
                    Ok(Some(c)) => Ok(c),
                    Ok(None) => break,
                    Err(e) => Err(crate::telemetry::redact(&e.without_url().to_string())),
                };
                let failed = chunk.is_err();
                // The reader went away (the consumer stopped): stop downloading.
                if tx.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        Self::from_chunks(rx)
    }

    fn from_chunks(chunks: mpsc::Receiver<Result<Bytes, String>>) -> Self {
        let (tx, rx) = mpsc::channel(ROWS);
        tokio::task::spawn_blocking(move || {
            let mut reader = ChunkReader {
                chunks,
                current: Bytes::new(),
                failed: None,
            };
            let mut de = serde_json::Deserializer::from_reader(&mut reader);
            let outcome = (&mut de)
                .deserialize_map(Top { tx: &tx })
                .and_then(|error| de.end().map(|()| error));
            let last = match outcome {
                Ok(error) => Item::End(error),
                Err(_) if tx.is_closed() => return,
                Err(e) => Item::Broken(reader.failed.take().unwrap_or_else(|| e.to_string())),
            };
            let _ = tx.blocking_send(last);
        });
        Self { rx }
    }
}

/// The body's chunks as a blocking reader.
struct ChunkReader {
    chunks: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
    failed: Option<String>,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(c)) => self.current = c,
                Some(Err(e)) => {
                    self.failed = Some(format!("the answer broke off: {e}"));
                    return Err(std::io::Error::other("body"));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// A visitor given where a seed is asked for: read as a map (`Map`) or a sequence (`Seq`).
struct Map<V>(V);
struct Seq<V>(V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for Map<V> {
    type Value = V::Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_map(self.0)
    }
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for Seq<V> {
    type Value = V::Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_seq(self.0)
    }
}

/// The top-level object: `tables` streamed, `error` kept (it is small).
struct Top<'t> {
    tx: &'t mpsc::Sender<Item>,
}

#[derive(Deserialize)]
struct ErrorInfo {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Column {
    name: String,
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a query answer with `tables`")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let (mut error, mut tables) = (None, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "tables" => {
                    map.next_value_seed(Seq(Tables { tx: self.tx }))?;
                    tables = true;
                }
                "error" => {
                    let e: Option<ErrorInfo> = map.next_value()?;
                    error = e.map(|e| format!("{}: {}", e.code, e.message));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !tables && error.is_none() {
            return Err(M::Error::custom("an answer without tables"));
        }
        Ok(error)
    }
}

/// `tables`: the first table's columns and rows are sent, later tables skipped.
struct Tables<'t> {
    tx: &'t mpsc::Sender<Item>,
}

impl<'de> Visitor<'de> for Tables<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of tables")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        if seq.next_element_seed(Map(Table { tx: self.tx }))?.is_some() {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }
}

struct Table<'t> {
    tx: &'t mpsc::Sender<Item>,
}

impl Table<'_> {
    fn send<E: serde::de::Error>(&self, item: Item) -> Result<(), E> {
        // A closed channel: the consumer stopped reading; end the parse.
        self.tx
            .blocking_send(item)
            .map_err(|_| E::custom("the reader stopped"))
    }
}

impl<'de> Visitor<'de> for Table<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a table with columns and rows")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let mut columns = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "columns" => {
                    let cols: Vec<Column> = map.next_value()?;
                    self.send(Item::Columns(cols.into_iter().map(|c| c.name).collect()))?;
                    columns = true;
                }
                // The documented shape lists columns first: rows cannot be placed without them.
                "rows" if !columns => return Err(M::Error::custom("rows before columns")),
                "rows" => map.next_value_seed(Seq(Rows { table: &self }))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Rows<'a, 't> {
    table: &'a Table<'t>,
}

impl<'de> Visitor<'de> for Rows<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while let Some(row) = seq.next_element::<Vec<Value>>()? {
            self.table.send(Item::Row(row))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn all(mut a: Answer) -> Vec<Item> {
        let mut out = Vec::new();
        while let Some(i) = a.next().await {
            out.push(i);
        }
        out
    }

    #[tokio::test]
    async fn rows_come_one_by_one_after_their_columns() {
        let body = json!({"tables":[{"name":"PrimaryResult","columns":[{"name":"A","type":"string"},{"name":"B","type":"int"}],"rows":[["x",1],["y",null]]},{"name":"Other","columns":[],"rows":[[1]]}]});
        let items = all(Answer::from_bytes(body.to_string())).await;
        assert_eq!(
            items,
            vec![
                Item::Columns(vec!["A".into(), "B".into()]),
                Item::Row(vec![json!("x"), json!(1)]),
                Item::Row(vec![json!("y"), Value::Null]),
                Item::End(None),
            ]
        );
    }

    #[tokio::test]
    async fn a_partial_result_error_beside_the_tables_is_reported() {
        let body = json!({"tables":[{"name":"PrimaryResult","columns":[{"name":"A","type":"string"}],"rows":[["x"]]}],"error":{"code":"PartialError","message":"There were some errors when processing your query.","details":[{"code":"EngineError"}]}});
        let items = all(Answer::from_bytes(body.to_string())).await;
        assert_eq!(
            items.last(),
            Some(&Item::End(Some(
                "PartialError: There were some errors when processing your query.".into()
            )))
        );
    }

    #[tokio::test]
    async fn a_truncated_or_foreign_body_is_broken() {
        let items = all(Answer::from_bytes(
            r#"{"tables":[{"name":"P","columns":[{"name":"A"}],"rows":[["x"],["#,
        ))
        .await;
        assert!(matches!(items.last(), Some(Item::Broken(_))), "{items:?}");
        let items = all(Answer::from_bytes(r#"{"value":[]}"#)).await;
        assert!(matches!(items.last(), Some(Item::Broken(_))), "{items:?}");
        let items = all(Answer::from_bytes(
            r#"{"tables":[{"rows":[["x"]],"columns":[{"name":"A"}]}]}"#,
        ))
        .await;
        assert!(matches!(items.last(), Some(Item::Broken(_))), "{items:?}");
    }

    #[tokio::test]
    async fn a_reader_that_stops_early_ends_the_parse() {
        let rows: Vec<Value> = (0..10_000).map(|i| json!([i])).collect();
        let body = json!({"tables":[{"name":"P","columns":[{"name":"A"}],"rows":rows}]});
        let mut a = Answer::from_bytes(body.to_string());
        assert!(matches!(a.next().await, Some(Item::Columns(_))));
        assert!(matches!(a.next().await, Some(Item::Row(_))));
        drop(a);
    }
}

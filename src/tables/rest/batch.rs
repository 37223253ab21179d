//! The entity group transaction (`POST $batch`): up to 100 writes to one partition in one
//! multipart request, all or nothing. [`body`] builds the request, [`answer`] reads the per-write
//! statuses and ETags from the multipart response.

use crate::azure::AzureError;
use crate::tables::port::{Entity, WriteMode};

/// One write of the transaction, ready to serialise: method, absolute URL, extra header, JSON.
pub(crate) struct Part<'a> {
    /// The mode (insert, upsert, If-Match replace, delete).
    pub mode: &'a WriteMode,
    /// Absolute URL of the table (insert) or of the entity.
    pub url: String,
    /// The entity as JSON (none for a delete).
    pub json: Vec<u8>,
}

/// The `Content-Type` of the request for `id` (the batch boundary).
pub(crate) fn content_type(id: &str) -> String {
    format!("multipart/mixed; boundary=batch_{id}")
}

/// The method of a write: POST to the table inserts, PUT to the entity replaces (`If-Match`: if
/// unchanged), DELETE removes.
pub(crate) fn method(mode: &WriteMode) -> reqwest::Method {
    match mode {
        WriteMode::Insert => reqwest::Method::POST,
        WriteMode::Upsert | WriteMode::IfMatch(_) => reqwest::Method::PUT,
        WriteMode::Delete(_) => reqwest::Method::DELETE,
    }
}

/// The multipart body: one change set holding every write (CRLF line ends, as the service wants).
pub(crate) fn body(id: &str, parts: &[Part<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let line = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(s.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    line(&mut out, &format!("--batch_{id}"));
    line(
        &mut out,
        &format!("Content-Type: multipart/mixed; boundary=changeset_{id}"),
    );
    line(&mut out, "");
    for p in parts {
        line(&mut out, &format!("--changeset_{id}"));
        line(&mut out, "Content-Type: application/http");
        line(&mut out, "Content-Transfer-Encoding: binary");
        line(&mut out, "");
        line(&mut out, &format!("{} {} HTTP/1.1", method(p.mode), p.url));
        line(&mut out, "Content-Type: application/json");
        line(&mut out, "Accept: application/json;odata=minimalmetadata");
        line(&mut out, "DataServiceVersion: 3.0;");
        match p.mode {
            WriteMode::Insert => line(&mut out, "Prefer: return-no-content"),
            WriteMode::IfMatch(etag) | WriteMode::Delete(etag) => {
                line(&mut out, &format!("If-Match: {etag}"));
            }
            WriteMode::Upsert => {}
        }
        line(&mut out, &format!("Content-Length: {}", p.json.len()));
        line(&mut out, "");
        out.extend_from_slice(&p.json);
        line(&mut out, "");
    }
    line(&mut out, &format!("--changeset_{id}--"));
    line(&mut out, &format!("--batch_{id}--"));
    out
}

/// The ETags of `expected` successful writes, or the error of the first failed one (a failed
/// transaction answers with that write's response only).
pub(crate) fn answer(text: &str, expected: usize) -> Result<Vec<String>, AzureError> {
    let mut statuses: Vec<(u16, Option<String>)> = Vec::new();
    let mut in_headers = false;
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if let Some(rest) = line.strip_prefix("HTTP/1.1 ") {
            let code = rest.split(' ').next().and_then(|c| c.parse().ok());
            statuses.push((code.unwrap_or(500), None));
            in_headers = true;
        } else if line.is_empty() {
            in_headers = false;
        } else if in_headers
            && let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("etag")
            && let Some(last) = statuses.last_mut()
        {
            last.1 = Some(value.trim().to_owned());
        }
    }
    if let Some((status, _)) = statuses.iter().find(|(s, _)| !(200..300).contains(s)) {
        return Err(AzureError::from_status(
            *status,
            &error_code(text),
            "",
            None,
        ));
    }
    if statuses.len() != expected {
        return Err(AzureError::Transient(format!(
            "batch answered {} of {expected} writes",
            statuses.len()
        )));
    }
    Ok(statuses
        .into_iter()
        .map(|(_, etag)| etag.unwrap_or_default())
        .collect())
}

/// The `odata.error` code of a failed write's body, for the message.
fn error_code(text: &str) -> String {
    text.split_once("\"code\":")
        .and_then(|(_, rest)| rest.trim_start().strip_prefix('"'))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("(no error code)")
        .to_owned()
}

/// The keys of a write, which must all share `pk`.
pub(crate) fn keys<'a>(
    entity: &'a Entity,
    pk: &mut Option<&'a str>,
) -> Result<(&'a str, &'a str), AzureError> {
    let get = |k: &str| entity.get(k).and_then(|v| v.as_str());
    let (Some(p), Some(r)) = (get("PartitionKey"), get("RowKey")) else {
        return Err(AzureError::Permanent(
            "entity needs string PartitionKey and RowKey".to_owned(),
        ));
    };
    match pk {
        Some(first) if *first != p => Err(AzureError::refused(
            400,
            "CommandsInBatchActOnDifferentPartitions",
            "a batch writes one partition",
        )),
        _ => {
            *pk = Some(p);
            Ok((p, r))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_one_change_set_with_each_write() {
        let etag = WriteMode::IfMatch("W/\"x\"".into());
        let parts = [
            Part {
                mode: &WriteMode::Insert,
                url: "http://h/a/t".into(),
                json: b"{}".to_vec(),
            },
            Part {
                mode: &etag,
                url: "http://h/a/t(PartitionKey='p',RowKey='r')".into(),
                json: b"{\"A\":1}".to_vec(),
            },
        ];
        let text = String::from_utf8(body("b1", &parts)).expect("utf8");
        assert!(text.starts_with(
            "--batch_b1\r\nContent-Type: multipart/mixed; boundary=changeset_b1\r\n\r\n"
        ));
        assert_eq!(text.matches("--changeset_b1\r\n").count(), 2);
        assert!(text.contains("POST http://h/a/t HTTP/1.1\r\n"));
        assert!(text.contains("Prefer: return-no-content\r\n"));
        assert!(text.contains("PUT http://h/a/t(PartitionKey='p',RowKey='r') HTTP/1.1\r\n"));
        assert!(text.contains("If-Match: W/\"x\"\r\n"));
        let gone = WriteMode::Delete("*".into());
        let delete = [Part {
            mode: &gone,
            url: "http://h/a/t(PartitionKey='p',RowKey='old')".into(),
            json: Vec::new(),
        }];
        let deleting = String::from_utf8(body("b2", &delete)).expect("utf8");
        assert!(
            deleting.contains("DELETE http://h/a/t(PartitionKey='p',RowKey='old') HTTP/1.1\r\n")
        );
        assert!(deleting.contains("If-Match: *\r\nContent-Length: 0\r\n\r\n\r\n--changeset_b2--"));
        assert!(text.ends_with("--changeset_b1--\r\n--batch_b1--\r\n"));
    }

    #[test]
    fn answer_reads_etags_or_the_failed_write() {
        let ok = "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n--cs\r\n\
            Content-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\nETag: W/\"a\"\r\n\r\n\
            --cs\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 201 Created\r\netag: W/\"b\"\r\n\r\n{\"ETag\":\"no\"}\r\n--cs--\r\n";
        assert_eq!(answer(ok, 2).expect("ok"), ["W/\"a\"", "W/\"b\""]);
        assert!(matches!(answer(ok, 3), Err(AzureError::Transient(_))));
        let failed = "--cs\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 409 Conflict\r\n\
            Content-Type: application/json\r\n\r\n{\"odata.error\":{\"code\":\"EntityAlreadyExists\"}}\r\n--cs--";
        assert!(matches!(answer(failed, 2), Err(AzureError::Conflict)));
        let precondition = failed.replace("409 Conflict", "412 Precondition Failed");
        assert!(matches!(
            answer(&precondition, 2),
            Err(AzureError::PreconditionFailed)
        ));
        let refused = failed.replace("409 Conflict", "400 Bad Request");
        match answer(&refused, 2) {
            Err(e @ AzureError::Rejected { .. }) => {
                assert!(e.to_string().contains("EntityAlreadyExists"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_hold_one_partition() {
        let e = |pk: &str| {
            serde_json::json!({"PartitionKey": pk, "RowKey": "r"})
                .as_object()
                .cloned()
                .expect("object")
        };
        let (a, b, c) = (e("p"), e("p"), e("q"));
        let mut pk = None;
        assert_eq!(keys(&a, &mut pk).expect("first"), ("p", "r"));
        assert!(keys(&b, &mut pk).is_ok());
        assert!(matches!(
            keys(&c, &mut pk),
            Err(AzureError::Rejected { .. })
        ));
    }
}

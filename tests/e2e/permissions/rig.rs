//! Calling the app the way the host does: invocations to `POST /<function>` (checking how each
//! ended and adding the host's queue work for its bindings), forwarded `/api/...` requests, and the
//! payloads those calls carry (Event Grid events, queue messages).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bastion_recordings::state::AppState;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt as _;

use super::record::Ledger;

/// The router over the recording state, and what ran.
pub(super) struct Rig {
    pub(super) ledger: Ledger,
    pub(super) router: Router,
    pub(super) state: AppState,
    pub(super) bindings: BTreeMap<String, Vec<Value>>,
    pub(super) ran: Vec<String>,
}

impl Rig {
    /// `POST /<function>` with an invocation body; returns the response's `Outputs` after
    /// checking the ending (`expect` = "processed", "any" or "poisoned").
    pub(super) async fn invoke(
        &mut self,
        function: &str,
        data: Value,
        meta: Value,
        expect: &str,
    ) -> Value {
        self.ledger.run_as(function);
        let mut metadata =
            json!({"sys": {"MethodName": function, "UtcNow": "2025-03-14T10:00:00Z"}});
        merge(&mut metadata, meta);
        let body = json!({"Data": data, "Metadata": metadata});
        let (status, v) = self
            .http(Method::POST, &format!("/{function}"), Some(body))
            .await;
        assert_eq!(status, StatusCode::OK, "{function}: {v}");
        let log = v["Logs"][0].as_str().unwrap_or_default();
        let ending = ["skipped", "poisoned"]
            .into_iter()
            .find(|e| log.starts_with(&format!("{e}:")))
            .unwrap_or("processed");
        assert!(
            expect == "any" && ending != "poisoned" || expect == ending,
            "{function}: {ending} ({log}), want {expect}"
        );
        let mut outputs = v["Outputs"].clone();
        let bindings = self.bindings.get(function).cloned().unwrap_or_default();
        self.ledger.bindings(function, &bindings, &outputs);
        self.ran.push(function.to_owned());
        // A planning timer's units, delivered as the queue does; their calls stay the timer's.
        for unit in values(&outputs, "workunits") {
            let (data, mut meta) = queue_message(&unit);
            meta["sys"] = json!({"MethodName": "WorkUnit", "UtcNow": unit["at"]});
            let body = json!({"Data": data, "Metadata": meta});
            let (status, u) = self.http(Method::POST, "/WorkUnit", Some(body)).await;
            assert_eq!(status, StatusCode::OK, "WorkUnit of {function}: {u}");
            let bindings = self.bindings.get("WorkUnit").cloned().unwrap_or_default();
            self.ledger.bindings("WorkUnit", &bindings, &u["Outputs"]);
            self.ran.push("WorkUnit".to_owned());
            let mut all = values(&outputs, "notifications");
            all.extend(values(&u["Outputs"], "notifications"));
            outputs["notifications"] = Value::Array(all);
        }
        outputs
    }

    async fn http(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request");
        let res = self.router.clone().oneshot(req).await.expect("response");
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
        (status, v)
    }

    /// A catalogue API request, filed under `CatalogueApi`; asserts a 2xx answer.
    pub(super) async fn api(&mut self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.ledger.run_as("CatalogueApi");
        let (status, v) = self.http(method, path, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        self.ran.push("CatalogueApi".to_owned());
        v
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

pub(super) fn blob_event(account: &str, container: &str, name: &str) -> Value {
    json!({"eventGridEvent": {
        "topic": format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{account}"),
        "subject": format!("/blobServices/default/containers/{container}/blobs/{name}"),
        "eventType": "Microsoft.Storage.BlobCreated", "eventTime": now(),
        "id": format!("perm-{name}"), "dataVersion": "", "metadataVersion": "1",
        "data": {"api": "PutBlob", "url": format!("https://{account}.blob.core.windows.net/{container}/{name}"),
                 "sequencer": "00000000000000000000000000000001", "blobType": "BlockBlob"}}})
}

pub(super) fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// The queue-trigger invocation data of one message (the host passes it JSON-encoded).
pub(super) fn queue_message(message: &Value) -> (Value, Value) {
    let text = match message {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let data = json!({"message": serde_json::to_string(&text).expect("json")});
    let meta = json!({"DequeueCount": "1", "Id": "\"perm-message\"", "PopReceipt": "\"pop\"",
        "InsertionTime": "2025-03-14T10:00:01+00:00"});
    (data, meta)
}

/// The values of one output binding (a single value or an array of them).
pub(super) fn values(outputs: &Value, binding: &str) -> Vec<Value> {
    match &outputs[binding] {
        Value::Null => Vec::new(),
        Value::Array(a) => a.clone(),
        v => vec![v.clone()],
    }
}

/// Every function's bindings, by folder name.
pub(super) fn bindings() -> BTreeMap<String, Vec<Value>> {
    crate::drift::functions()
        .into_iter()
        .map(|(name, f)| (name, f["bindings"].as_array().cloned().unwrap_or_default()))
        .collect()
}

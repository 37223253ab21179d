//! A real `handler` process on Azurite plus the recording pipeline's first steps, shared by the
//! catalogue and health tests: upload a recording, catalogue it through a real `RecordingCreated`
//! invocation, hash it through a real `RecordingHash` invocation fed with the `hashRequests` output.

use bastion_recordings::azure::connection::StorageConnection;
use bastion_recordings::config::Config;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::rest::TableRestClient;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::harness::{AzuriteEnv, HandlerProcess, fixture};

/// The handler, its settings and clients for the same storage.
pub(crate) struct PipelineRig {
    pub(crate) env: AzuriteEnv,
    pub(crate) config: Config,
    pub(crate) handler: HandlerProcess,
}

impl PipelineRig {
    /// Spawns the handler on a fresh Azurite namespace with `extra` settings.
    pub(crate) async fn new(cs: &str, extra: &[(&str, &str)]) -> Self {
        let env = AzuriteEnv::new(cs);
        let config = Config::from_lookup(&|k| env.vars.get(k).cloned()).expect("config");
        let mut pairs = env.pairs();
        pairs.extend_from_slice(extra);
        let handler = HandlerProcess::spawn(&pairs).await;
        Self {
            env,
            config,
            handler,
        }
    }

    pub(crate) fn conn(&self) -> &StorageConnection {
        &self.config.storage.app
    }

    pub(crate) fn blobs(&self) -> AzureBlobStore {
        AzureBlobStore::new(self.conn()).expect("blobs")
    }

    pub(crate) fn tables(&self) -> TableRestClient {
        TableRestClient::new(self.conn(), &self.config.table_prefix).expect("tables")
    }

    pub(crate) fn container(&self) -> String {
        self.env.recordings().to_owned()
    }

    pub(crate) fn blob(&self, name: &str) -> BlobRef {
        BlobRef::new(self.container(), name)
    }

    /// Uploads, catalogues through RecordingCreated, hashes through RecordingHash; returns the id.
    pub(crate) async fn record(&self, name: &str, body: &[u8]) -> String {
        let container = self.container();
        self.blobs()
            .put(
                &self.blob(name),
                Bytes::copy_from_slice(body),
                "application/octet-stream",
                &Metadata::new(),
            )
            .await
            .expect("upload");
        let mut inv = fixture("invocations/recording-created.invocation.json");
        let ev = &mut inv["Data"]["eventGridEvent"];
        // As Event Grid would send it: the event time is the upload time.
        ev["eventTime"] = json!(now());
        ev["topic"] = json!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
        );
        ev["subject"] = json!(format!(
            "/blobServices/default/containers/{container}/blobs/{name}"
        ));
        ev["data"]["url"] = json!(format!(
            "http://127.0.0.1:10000/devstoreaccount1/{container}/{name}"
        ));
        let (s, out) = self.handler.invoke("RecordingCreated", &inv).await;
        assert_eq!(s, 200, "{out}");
        let req = out["Outputs"]["hashRequests"].clone();
        assert!(req.is_object(), "hash request emitted: {out}");
        let message = json!({"Data": {"message": serde_json::to_string(&req.to_string()).expect("json")},
            "Metadata": {"DequeueCount": 1, "sys": {"MethodName": "RecordingHash"}}});
        let (s, out) = self.handler.invoke("RecordingHash", &message).await;
        assert_eq!(s, 200, "{out}");
        assert!(
            out["Logs"][0]
                .as_str()
                .unwrap_or_default()
                .starts_with("hashed"),
            "{out}"
        );
        req["recordingId"].as_str().expect("id").to_owned()
    }

    /// `GET path` with `headers`: status and body text.
    pub(crate) async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut rb = reqwest::Client::new().get(self.handler.url(path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let res = rb.send().await.expect("get");
        (res.status().as_u16(), res.text().await.expect("body"))
    }

    /// `GET path`: status and JSON body.
    pub(crate) async fn get_json(&self, path: &str) -> (u16, Value) {
        let (s, body) = self.get(path, &[]).await;
        (s, serde_json::from_str(&body).expect("json body"))
    }

    /// Runs `handler <args>` as a CLI with the same settings.
    pub(crate) fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
            .args(args)
            .env_clear()
            .envs(self.env.vars.iter())
            .output()
            .expect("run handler cli")
    }
}

/// Now, RFC 3339.
pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now")
}

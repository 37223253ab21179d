//! The identity rig: an HTTPS Azurite with blob, queue and table services in basic OAuth mode, the
//! fake identity endpoint, identity-only settings for the processes under test, and a test-side
//! client that seeds and inspects storage with its own bearer token (never through the code under
//! test).

use serde_json::{Value, json};

use super::endpoint::IdentityEndpoint;
use crate::harness::unique;
use crate::tls_azurite::{ACCOUNT, FakeEntra, TlsAzurite, VERSION};

/// The recording every scenario catalogues (its name carries Alice's tunnel id, as in the sample).
pub(crate) const ALICE: &str = "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";
/// The sample hour's audit-log path.
pub(crate) const HOUR: &str = "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU/y=2025/m=03/d=14/h=09/m=00/PT1H.json";

pub(crate) struct Rig {
    pub(crate) az: TlsAzurite,
    pub(crate) idp: IdentityEndpoint,
    http: reqwest::Client,
    pub(crate) recordings: String,
    pub(crate) logs: String,
    pub(crate) quarantine: String,
    prefix: String,
}

impl Rig {
    /// `None` (skip) unless `TEST_AZURITE=1` and an Azurite install is found.
    pub(crate) async fn start() -> Option<Self> {
        if std::env::var("TEST_AZURITE").ok().as_deref() != Some("1") {
            eprintln!(
                "skipping: TEST_AZURITE is not 1 (managed identity needs an HTTPS OAuth Azurite)"
            );
            return None;
        }
        let az = TlsAzurite::start_all()?;
        let http = az.client();
        Some(Self {
            idp: IdentityEndpoint::start().await,
            az,
            http,
            recordings: unique("rec"),
            logs: unique("logs"),
            quarantine: unique("quar"),
            prefix: unique("t"),
        })
    }

    /// Identity-only settings for a process whose token requests carry `secret`
    /// (`IDENTITY_HEADER`): the three service URIs, `__credential`, optionally `__clientId`; the
    /// identity endpoint; the test CA. No account key, no connection string.
    pub(crate) fn env(&self, secret: &str, client_id: Option<&str>) -> Vec<(String, String)> {
        let (queue, table) = self.az.queue_and_table.clone().expect("queues and tables");
        let mut env = vec![
            ("AzureWebJobsStorage__accountName", ACCOUNT.to_owned()),
            (
                "AzureWebJobsStorage__blobServiceUri",
                self.az.endpoint.to_string(),
            ),
            ("AzureWebJobsStorage__queueServiceUri", queue.to_string()),
            ("AzureWebJobsStorage__tableServiceUri", table.to_string()),
            (
                "AzureWebJobsStorage__credential",
                "managedidentity".to_owned(),
            ),
            ("IDENTITY_ENDPOINT", self.idp.url.clone()),
            ("IDENTITY_HEADER", secret.to_owned()),
            ("SSL_CERT_FILE", self.az.ca_file.display().to_string()),
            (
                "RECORDINGS_SOURCES",
                format!("AzureWebJobsStorage:{}", self.recordings),
            ),
            (
                "AUDITLOGS_SOURCES",
                format!("AzureWebJobsStorage:{}", self.logs),
            ),
            ("QUARANTINE_CONTAINER", self.quarantine.clone()),
            ("TABLE_PREFIX", self.prefix.clone()),
            ("CATALOGUE_DOWNLOAD_LINKS", "true".to_owned()),
            ("CATALOGUE_AUTH", "none".to_owned()),
            // The recordings here are a few bytes of text (see `AzuriteEnv::new`).
            ("RECORDING_MIN_BYTES", "1".to_owned()),
        ];
        if let Some(id) = client_id {
            env.push(("AzureWebJobsStorage__clientId", id.to_owned()));
        }
        let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_keyless(&env);
        env
    }

    /// The blob service of `account` (Azurite serves every account on the same port).
    pub(crate) fn service(&self, account: &str) -> String {
        let mut url = self.az.endpoint.clone();
        url.set_path(account);
        url.to_string()
    }

    fn blob_url(&self, container: &str, name: &str) -> String {
        self.blob_url_in(ACCOUNT, container, name)
    }

    fn blob_url_in(&self, account: &str, container: &str, name: &str) -> String {
        let path = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
            .replace("%2F", "/");
        format!("{}/{container}/{path}", self.service(account))
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> reqwest::Response {
        req.bearer_auth(FakeEntra::jwt())
            .header("x-ms-version", VERSION)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// Creates `container` (already existing is fine).
    pub(crate) async fn container(&self, container: &str) {
        self.container_in(ACCOUNT, container).await;
    }

    /// Creates `container` in `account` (already existing is fine).
    pub(crate) async fn container_in(&self, account: &str, container: &str) {
        let url = format!("{}/{container}?restype=container", self.service(account));
        let res = self
            .send(
                self.http.put(url).header("content-length", "0"),
                "create container",
            )
            .await;
        assert!(
            res.status().is_success() || res.status().as_u16() == 409,
            "create container: {}",
            res.status()
        );
    }

    /// Uploads a block blob.
    pub(crate) async fn put_blob(&self, container: &str, name: &str, body: &'static [u8]) {
        self.put_blob_in(ACCOUNT, container, name, body).await;
    }

    /// Uploads a block blob to `account`.
    pub(crate) async fn put_blob_in(
        &self,
        account: &str,
        container: &str,
        name: &str,
        body: &'static [u8],
    ) {
        self.container_in(account, container).await;
        let req = self
            .http
            .put(self.blob_url_in(account, container, name))
            .header("x-ms-blob-type", "BlockBlob")
            .body(body);
        let res = self.send(req, "put blob").await;
        assert!(res.status().is_success(), "put blob: {}", res.status());
    }

    /// Creates an empty append blob (as Azure Monitor does at the start of an hour).
    pub(crate) async fn create_append(&self, container: &str, name: &str) {
        self.container(container).await;
        let req = self
            .http
            .put(self.blob_url(container, name))
            .header("x-ms-blob-type", "AppendBlob")
            .header("content-length", "0");
        let res = self.send(req, "create append blob").await;
        assert!(res.status().is_success(), "create append: {}", res.status());
    }

    /// Appends `text` to an append blob.
    pub(crate) async fn append(&self, container: &str, name: &str, text: Vec<u8>) {
        let url = format!("{}?comp=appendblock", self.blob_url(container, name));
        let res = self.send(self.http.put(url).body(text), "append").await;
        assert!(res.status().is_success(), "append: {}", res.status());
    }

    /// Names of the blobs in `container` (none when it does not exist).
    pub(crate) async fn list(&self, container: &str) -> Vec<String> {
        let url = format!(
            "{}/{container}?restype=container&comp=list",
            self.az.endpoint
        );
        let res = self.send(self.http.get(url), "list").await;
        if res.status().as_u16() == 404 {
            return Vec::new();
        }
        assert!(res.status().is_success(), "list: {}", res.status());
        let xml = res.text().await.expect("list body");
        xml.split("<Name>")
            .skip(1)
            .filter_map(|s| s.split_once("</Name>").map(|(n, _)| n.to_owned()))
            .collect()
    }

    /// A host-shaped Event Grid invocation for a blob created in `container`.
    pub(crate) fn event(&self, fixture: &str, container: &str, name: &str) -> Value {
        self.event_in(ACCOUNT, fixture, container, name)
    }

    /// The same for a blob of `account`.
    pub(crate) fn event_in(
        &self,
        account: &str,
        fixture: &str,
        container: &str,
        name: &str,
    ) -> Value {
        let mut inv = crate::harness::fixture(fixture);
        let ev = &mut inv["Data"]["eventGridEvent"];
        ev["eventTime"] = json!(crate::pipeline::now());
        ev["topic"] = json!(format!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{account}"
        ));
        ev["subject"] = json!(format!(
            "/blobServices/default/containers/{container}/blobs/{name}"
        ));
        ev["data"]["url"] = json!(self.blob_url_in(account, container, name));
        inv
    }
}

/// A timer invocation of `function`.
pub(crate) fn timer(function: &str) -> Value {
    let mut inv = crate::harness::fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!(function);
    inv["Metadata"]["sys"]["UtcNow"] = json!("2025-03-14T11:30:00.0000000Z");
    inv
}

/// Fails when any setting carries an account key or a key-based connection string: the point of
/// these tests is that nothing but the identity reaches storage.
pub(crate) fn assert_keyless(env: &[(String, String)]) {
    for (k, v) in env {
        assert!(
            !v.contains("AccountKey")
                && !v.contains(bastion_recordings::azure::connection::DEV_KEY)
                && !v.contains("UseDevelopmentStorage")
                && !v.contains("SharedAccessSignature"),
            "{k} carries a key"
        );
        assert_ne!(k, "AzureWebJobsStorage", "a connection string is set");
    }
}

/// `(k, v)` pairs as the harness takes them.
pub(crate) fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

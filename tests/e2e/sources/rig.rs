//! Two Bastion hosts recording into two storage accounts of one Azurite (`devstoreaccount1` and
//! `stweu`, started by `scripts/test.sh` with `AZURITE_EXTRA_ACCOUNTS`), a third account nobody
//! configured (`stneu`), and the real `handler` watching both hosts through `RECORDINGS_SOURCES` and
//! `AUDITLOGS_SOURCES`.

use std::collections::HashMap;

use bastion_recordings::azure::connection::StorageConnection;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bastion_recordings::tables::rest::TableRestClient;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::harness::{HandlerProcess, azurite, fixture, unique};

/// The two hosts, each with its account's connection setting: `(setting, account, host)`.
pub(crate) const HOSTS: [(&str, &str, &str); 2] = [
    ("SRC_WEU", "devstoreaccount1", "bas-hub-weu"),
    ("SRC_NEU", "stweu", "bas-hub-neu"),
];

/// An account no source names.
pub(crate) const STRANGER: &str = "stneu";

/// Connection strings of the three accounts, or `None` (with a note) when storage tests are off.
pub(crate) fn accounts() -> Option<HashMap<&'static str, String>> {
    let dev = azurite()?;
    let extra = |name: &str| {
        let var = format!("AZURITE_CONNECTION_STRING_{}", name.to_ascii_uppercase());
        std::env::var(&var).unwrap_or_else(|_| {
            panic!("{var} is not set: start Azurite with AZURITE_EXTRA_ACCOUNTS=stweu,stneu (scripts/test.sh does)")
        })
    };
    Some(HashMap::from([
        ("devstoreaccount1", dev),
        ("stweu", extra("stweu")),
        (STRANGER, extra(STRANGER)),
    ]))
}

/// The settings of one run: `override_neu` replaces the second host's connection (a stopped
/// account).
pub(crate) struct Sources {
    pub(crate) accounts: HashMap<&'static str, String>,
    pub(crate) rec: String,
    pub(crate) logs: String,
    pub(crate) vars: Vec<(String, String)>,
}

impl Sources {
    pub(crate) fn new(accounts: HashMap<&'static str, String>) -> Self {
        let (rec, logs) = (unique("rec"), unique("logs"));
        let mut vars = vec![
            (
                "AzureWebJobsStorage".to_owned(),
                accounts["devstoreaccount1"].clone(),
            ),
            ("QUARANTINE_CONTAINER".to_owned(), unique("quar")),
            ("TABLE_PREFIX".to_owned(), unique("t")),
            ("CATALOGUE_AUTH".to_owned(), "none".to_owned()),
            // The recordings here are a few bytes of text (see `AzuriteEnv::new`).
            ("RECORDING_MIN_BYTES".to_owned(), "1".to_owned()),
        ];
        for (setting, account, _) in HOSTS {
            vars.push((setting.to_owned(), accounts[account].clone()));
        }
        let recordings: Vec<String> = HOSTS
            .iter()
            .map(|(setting, _, host)| format!("{setting}:{rec}@{host}"))
            .collect();
        let audit: Vec<String> = HOSTS
            .iter()
            .map(|(setting, _, _)| format!("{setting}:{logs}"))
            .collect();
        vars.push(("RECORDINGS_SOURCES".to_owned(), recordings.join(",")));
        vars.push(("AUDITLOGS_SOURCES".to_owned(), audit.join(",")));
        Self {
            accounts,
            rec,
            logs,
            vars,
        }
    }

    /// The same settings with `setting` pointing at an endpoint nobody answers.
    pub(crate) fn stopping(&self, setting: &str) -> Vec<(String, String)> {
        let dead = "DefaultEndpointsProtocol=http;AccountName=stweu;AccountKey=c3RvcHBlZA==;BlobEndpoint=http://127.0.0.1:9/stweu;QueueEndpoint=http://127.0.0.1:9/stweu;TableEndpoint=http://127.0.0.1:9/stweu";
        self.vars
            .iter()
            .map(|(k, v)| match k == setting {
                true => (k.clone(), dead.to_owned()),
                false => (k.clone(), v.clone()),
            })
            .collect()
    }

    pub(crate) async fn spawn(vars: &[(String, String)]) -> HandlerProcess {
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        HandlerProcess::spawn(&pairs).await
    }

    fn conn(&self, account: &str) -> StorageConnection {
        let cs = self.accounts[account].clone();
        StorageConnection::resolve("X", &|k| (k == "X").then(|| cs.clone()))
            .expect("connection")
            .expect("set")
    }

    pub(crate) fn blobs(&self, account: &str) -> AzureBlobStore {
        AzureBlobStore::new(&self.conn(account)).expect("blob store")
    }

    pub(crate) async fn rows(&self) -> Vec<Map<String, Value>> {
        let prefix = self
            .vars
            .iter()
            .find(|(k, _)| k == "TABLE_PREFIX")
            .map(|(_, v)| v.clone());
        let tables =
            TableRestClient::new(&self.conn("devstoreaccount1"), &prefix.unwrap_or_default())
                .expect("tables");
        match tables.query("recordings", None, None, None).await {
            Ok(page) => page.items.into_iter().map(|s| s.entity).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Puts a recording of `vm` into `account`'s recordings container.
    pub(crate) async fn upload(&self, account: &str, name: &str, vm: &str) {
        let meta: Metadata = [("vm".to_owned(), vm.to_owned())].into();
        self.blobs(account)
            .put(
                &BlobRef::new(self.rec.clone(), name),
                Bytes::from_static(b"recording bytes"),
                "application/octet-stream",
                &meta,
            )
            .await
            .expect("upload");
    }

    /// One hour of `host`'s audit log in `account`: a session of `user` on `vm` from `start` to
    /// `end`. Returns the blob name.
    pub(crate) async fn audit_hour(
        &self,
        account: &str,
        host: &str,
        session: (&str, &str, &str, OffsetDateTime, OffsetDateTime),
    ) -> String {
        let (tunnel, user, vm, start, end) = session;
        let host = host.to_ascii_uppercase();
        let hour = start
            .replace_minute(0)
            .and_then(|t| t.replace_second(0))
            .expect("hour");
        let name = format!(
            "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/{host}/y={}/m={:02}/d={:02}/h={:02}/m=00/PT1H.json",
            hour.year(),
            u8::from(hour.month()),
            hour.day(),
            hour.hour()
        );
        let line = |op: &str, t: OffsetDateTime, message: &str| {
            json!({"time": t.format(&Rfc3339).expect("time"),
                "resourceId": format!("/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/{host}"),
                "operationName": format!("Microsoft.Network/BastionHost/{op}"), "category": "BastionAuditLogs",
                "properties": {"userName": user, "clientIpAddress": "203.0.113.45", "protocol": "ssh",
                    "targetResourceId": format!("/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{}", vm.to_ascii_uppercase()),
                    "message": message, "tunnelId": tunnel}})
            .to_string()
                + "\n"
        };
        let text = line("connect", start, "Successfully Connected.")
            + &line("disconnect", end, "Disconnected.");
        let blob = BlobRef::new(self.logs.clone(), name.clone());
        let store = self.blobs(account);
        store
            .create_append(&blob, "application/json")
            .await
            .expect("create");
        store
            .append(&blob, Bytes::from(text))
            .await
            .expect("append");
        name
    }

    /// A BlobCreated invocation for `account`/`container`/`name`.
    pub(crate) fn created(
        &self,
        function: &str,
        account: &str,
        container: &str,
        name: &str,
    ) -> Value {
        let mut inv = fixture("invocations/recording-created.invocation.json");
        inv["Metadata"]["sys"]["MethodName"] = json!(function);
        let ev = &mut inv["Data"]["eventGridEvent"];
        ev["id"] = json!(unique("evt"));
        let now = OffsetDateTime::now_utc().format(&Rfc3339).expect("time");
        ev["eventTime"] = json!(now);
        ev["topic"] = json!(format!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{account}"
        ));
        ev["subject"] = json!(format!(
            "/blobServices/default/containers/{container}/blobs/{name}"
        ));
        ev["data"]["url"] = json!(format!(
            "http://127.0.0.1:10000/{account}/{container}/{name}"
        ));
        ev["data"]["sequencer"] = json!(format!("{:048x}", std::process::id()));
        inv
    }

    /// A timer invocation of `function` whose "now" is `now`.
    pub(crate) fn timer(function: &str, now: OffsetDateTime) -> Value {
        let mut inv = fixture("invocations/timer.invocation.json");
        inv["Metadata"]["sys"]["MethodName"] = json!(function);
        inv["Metadata"]["sys"]["UtcNow"] = json!(now.format(&Rfc3339).expect("time"));
        inv
    }
}

/// A row's string property.
pub(crate) fn prop<'a>(row: &'a Map<String, Value>, k: &str) -> &'a str {
    row.get(k).and_then(Value::as_str).unwrap_or_default()
}

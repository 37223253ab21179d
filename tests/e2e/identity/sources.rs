//! Two recording sources in two storage accounts, both reached with the managed identity: one
//! catalogue, the same blob name in both gives two rows, each source's recordings are read with
//! the identity of its own connection setting, and no setting carries a key.

use crate::harness::{HandlerProcess, first_log};
use crate::tls_azurite::{ACCOUNT, SECOND_ACCOUNT};

use super::rig::{Rig, pairs};
use super::today;

#[tokio::test]
async fn two_sources_in_two_accounts_run_on_the_identity() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    // This test's own list names both containers.
    let mut env: Vec<(String, String)> = rig
        .env("handler", None)
        .into_iter()
        .filter(|(k, _)| k != "RECORDINGS_SOURCES")
        .collect();
    let second = [
        ("NEU_REC__accountName", SECOND_ACCOUNT.to_owned()),
        ("NEU_REC__blobServiceUri", rig.service(SECOND_ACCOUNT)),
        ("NEU_REC__credential", "managedidentity".to_owned()),
        (
            "RECORDINGS_SOURCES",
            format!(
                "AzureWebJobsStorage:{0}@bas-hub-weu,NEU_REC:{0}@bas-hub-neu",
                rig.recordings
            ),
        ),
    ];
    env.extend(second.into_iter().map(|(k, v)| (k.to_owned(), v)));
    super::rig::assert_keyless(&env);
    let h = HandlerProcess::spawn(&pairs(&env)).await;

    // The same name in both accounts: two recordings, two rows.
    let name = "vm-app-01/session-1.mp4";
    let mut ids = Vec::new();
    for account in [ACCOUNT, SECOND_ACCOUNT] {
        rig.put_blob_in(account, &rig.recordings, name, b"recording")
            .await;
        let created = rig.event_in(
            account,
            "invocations/recording-created.invocation.json",
            &rig.recordings,
            name,
        );
        let (s, out) = h.invoke("RecordingCreated", &created).await;
        assert_eq!(s, 200, "{out} {}", h.log_text());
        assert!(
            first_log(&out).contains("catalogued recording"),
            "{account}: {out}"
        );
        ids.push(out["Outputs"]["hashRequests"]["recordingId"].clone());
    }
    assert_ne!(ids[0], ids[1], "one row per account");

    let (s, list) = h
        .get_json(&format!("/api/recordings?from={0}&to={0}", today()))
        .await;
    assert_eq!(s, 200, "{list}");
    let mut seen: Vec<(String, String)> = list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items: {list}"))
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (text("account"), text("bastionHost"))
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (ACCOUNT.to_owned(), "bas-hub-weu".to_owned()),
            (SECOND_ACCOUNT.to_owned(), "bas-hub-neu".to_owned()),
        ],
        "{list}"
    );
    assert!(
        !rig.idp.requests("handler").is_empty(),
        "the identity endpoint was asked"
    );
    assert!(
        rig.list(&rig.quarantine).await.is_empty(),
        "nothing quarantined"
    );
}

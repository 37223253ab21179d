//! Reading the watched containers from settings.

use super::*;
use crate::azure::connection::StorageConnection;
use crate::testkit::maps::lookup as env;

fn key_conn(account: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=https;AccountName={account};AccountKey=a2V5;EndpointSuffix=core.windows.net"
    )
}

fn app() -> StorageConnection {
    let dev = env(&[("AzureWebJobsStorage", "UseDevelopmentStorage=true")]);
    StorageConnection::resolve("AzureWebJobsStorage", &dev)
        .expect("ok")
        .expect("set")
}

#[test]
fn unset_lists_give_the_default_containers_on_the_apps_storage() {
    let mut errors = Vec::new();
    let specs = read(&env(&[]), Some(&app()), &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(specs.recordings.len(), 1);
    assert_eq!(specs.recordings[0].container, "recordings");
    assert_eq!(specs.recordings[0].connection, "AzureWebJobsStorage");
    assert_eq!(specs.recordings[0].conn, Some(app()));
    assert_eq!(specs.audit_logs[0].container, AUDITLOGS_DEFAULT);
}

#[test]
fn the_single_source_settings_stop_start_up_naming_the_setting_not_its_value() {
    let strec = key_conn("strec");
    let old = env(&[
        ("RECORDINGS_STORAGE", &strec),
        ("RECORDINGS_CONTAINER", "rec"),
        ("AUDITLOGS_STORAGE__accountName", "stlogs"),
    ]);
    let mut errors = Vec::new();
    read(&old, Some(&app()), &mut errors);
    assert_eq!(
        errors,
        [
            "RECORDINGS_STORAGE, RECORDINGS_CONTAINER: no longer read; name the source in RECORDINGS_SOURCES as <connection>:<container>[@<bastion>]",
            "AUDITLOGS_STORAGE: no longer read; name the source in AUDITLOGS_SOURCES as <connection>:<container>",
        ]
    );
    // A connection setting the list names is read as before.
    let listed = env(&[
        ("RECORDINGS_SOURCES", "RECORDINGS_STORAGE:rec"),
        ("RECORDINGS_STORAGE", &strec),
    ]);
    let mut errors = Vec::new();
    let specs = read(&listed, Some(&app()), &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let r = &specs.recordings[0];
    assert_eq!(r.conn.as_ref().map(|c| c.account.as_str()), Some("strec"));
}

#[test]
fn lists_name_connections_containers_and_bastions() {
    let weu = key_conn("stweu");
    let neu = key_conn("stneu");
    let e = env(&[
        (
            "RECORDINGS_SOURCES",
            "WEU_REC:recordings@bas-hub-weu, NEU_REC:bastion-neu@/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/Bas-Hub-NEU",
        ),
        ("AUDITLOGS_SOURCES", "WEU_REC,NEU_REC:logs-neu"),
        ("WEU_REC", &weu),
        ("NEU_REC", &neu),
    ]);
    let mut errors = Vec::new();
    let app = app();
    let specs = read(&e, Some(&app), &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let got: Vec<_> = specs
        .recordings
        .iter()
        .map(|s| {
            (
                s.conn.as_ref().map(|c| c.account.clone()),
                s.container.clone(),
                s.bastion.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Some("stweu".into()),
                "recordings".into(),
                Some("bas-hub-weu".into())
            ),
            (
                Some("stneu".into()),
                "bastion-neu".into(),
                Some("bas-hub-neu".into())
            ),
        ]
    );
    let logs: Vec<_> = specs
        .audit_logs
        .iter()
        .map(|s| s.container.as_str())
        .collect();
    assert_eq!(logs, [AUDITLOGS_DEFAULT, "logs-neu"]);
    // A host named by resource id keeps the id, for the portal links of notifications.
    let ids: Vec<Option<&str>> = specs
        .recordings
        .iter()
        .map(|s| s.bastion_id.as_deref())
        .collect();
    assert_eq!(
        ids,
        [
            None,
            Some(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/Bas-Hub-NEU"
            )
        ]
    );
}

#[test]
fn every_bad_entry_is_named_without_values() {
    let e = env(&[
        (
            "RECORDINGS_SOURCES",
            "MISSING:recordings,WEU_REC:Bad_Name,WEU_REC:recordings@not/a/bastion,WEU_REC:ok-one,WEU_REC:ok-one,justaname",
        ),
        ("RECORDINGS_CONTAINER", "recordings"),
        ("AUDITLOGS_SOURCES", "WEU_REC:logs@bas"),
        (
            "WEU_REC",
            "DefaultEndpointsProtocol=https;AccountName=stweu;AccountKey=c2VjcmV0dmFsdWU=;EndpointSuffix=core.windows.net",
        ),
    ]);
    let mut errors = Vec::new();
    read(&e, Some(&app()), &mut errors);
    let text = errors.join("\n");
    for needle in [
        "RECORDINGS_SOURCES: connection setting MISSING is not set",
        "RECORDINGS_SOURCES: not a valid container name",
        "neither a name nor a bastionHosts resource id",
        "WEU_REC:ok-one is listed twice",
        "an entry is not <connection>:<container>",
        "RECORDINGS_CONTAINER: no longer read; name the source in RECORDINGS_SOURCES",
        "AUDITLOGS_SOURCES: entries name no Bastion host",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    assert!(!text.contains("c2VjcmV0dmFsdWU"), "{text}");
}

#[test]
fn bastion_labels_are_names_or_resource_ids() {
    assert_eq!(bastion_name("Bas-Hub-WEU").as_deref(), Some("bas-hub-weu"));
    assert_eq!(
        bastion_name(
            "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-1"
        )
        .as_deref(),
        Some("bas-1")
    );
    assert_eq!(bastion_name("/subscriptions/s/virtualMachines/vm"), None);
    assert_eq!(bastion_name("has space"), None);
}

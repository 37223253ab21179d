//! On Azurite with real pipeline rows: the access audit names only a proven caller (the token's
//! user in `jwt`, never a forged principal in `none`), and unset or invalid authentication settings
//! refuse the API while `RecordingCreated` keeps cataloguing.

use base64::Engine as _;
use bastion_recordings::tables::TableStore as _;
use serde_json::json;

use super::issuer::{Issuer, SigningKey};
use super::{call, list_path};
use crate::harness::{HandlerProcess, azurite};
use crate::pipeline::PipelineRig as Rig;

/// An `x-ms-client-principal` value naming `name` with `roles`, as App Service authentication
/// encodes it (and as anyone can forge it where nothing strips it).
pub(super) fn principal(name: &str, roles: &[&str]) -> String {
    let mut claims = vec![json!({"typ": "preferred_username", "val": name})];
    claims.extend(roles.iter().map(|r| json!({"typ": "roles", "val": r})));
    base64::engine::general_purpose::STANDARD
        .encode(json!({"auth_typ": "aad", "claims": claims}).to_string())
}

async fn audited_names(rig: &Rig) -> Vec<String> {
    let rows = rig
        .tables()
        .query("accessaudit", None, None, None)
        .await
        .expect("audit rows")
        .items;
    let mut names: Vec<String> = rows
        .iter()
        .map(|r| r.entity["Who"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_access_audit_names_only_proven_callers() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs, &[]).await;
    let id = rig.record("vm-a/audit.rec", b"audited").await;
    let detail = format!("/api/recordings/{id}");
    let forged = principal("mallory@contoso.com", &["Catalogue.Read"]);

    // `none`: the function key is the credential; a claimed name is not believed.
    let a = call(
        &rig.handler,
        "GET",
        &detail,
        &[("x-ms-client-principal", &forged)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);

    // `jwt` on the same storage: the token's user is named.
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key]).await;
    let settings = issuer.settings();
    let mut env = rig.env.pairs();
    env.extend(settings.iter().map(|(k, v)| (*k, v.as_str())));
    let jwt = HandlerProcess::spawn(&env).await;
    let token = key.sign(&issuer.claims(&["Catalogue.Read"]));
    let a = call(
        &jwt,
        "GET",
        &detail,
        &[
            ("authorization", &format!("Bearer {token}")),
            ("x-ms-client-principal", &forged),
        ],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        audited_names(&rig).await,
        ["auditor@contoso.com", "function-key caller"]
    );
}

#[tokio::test]
async fn unusable_auth_settings_refuse_the_api_while_the_pipeline_runs() {
    let Some(cs) = azurite() else { return };
    // An empty value is an unset setting.
    let rig = Rig::new(&cs, &[("CATALOGUE_AUTH", "")]).await;
    let id = rig.record("vm-a/still-catalogued.rec", b"pipeline").await;
    let row = rig.tables().query("recordings", None, None, None).await;
    assert_eq!(row.expect("rows").items.len(), 1, "{id} catalogued");
    let a = call(&rig.handler, "GET", &list_path(), &[]).await;
    assert_eq!(a.status, 401, "{}", a.body);
    let problem = a.problem();
    assert_eq!(problem["title"], "Authentication not configured");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("CATALOGUE_AUTH"),
        "{problem}"
    );
    let forged = principal("mallory@contoso.com", &["Catalogue.Read"]);
    let a = call(
        &rig.handler,
        "GET",
        &format!("/api/recordings/{id}"),
        &[("x-ms-client-principal", &forged)],
    )
    .await;
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(
        call(&rig.handler, "GET", "/api/health", &[]).await.status,
        200
    );
    let logs = rig.handler.log_text();
    assert_eq!(
        logs.matches("catalogue API authentication is not configured")
            .count(),
        1,
        "one loud line at start-up: {logs}"
    );

    for (extra, named) in [
        (
            vec![("CATALOGUE_AUTH", "sometimes")],
            vec!["CATALOGUE_AUTH"],
        ),
        (
            vec![("CATALOGUE_AUTH", "jwt")],
            vec!["CATALOGUE_JWT_AUTHORITY", "CATALOGUE_JWT_AUDIENCE"],
        ),
    ] {
        let mut env = rig.env.pairs();
        env.extend(extra);
        let h = HandlerProcess::spawn(&env).await;
        let detail = call(&h, "GET", &list_path(), &[]).await.refusal_detail();
        for n in named {
            assert!(detail.contains(n), "{n} not named: {detail}");
        }
        assert!(!detail.contains("sometimes"), "the value is not repeated");
    }
}

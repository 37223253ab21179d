//! Catalogue authentication drift: `CATALOGUE_AUTH` in the Bicep app settings agrees with what
//! `infra/` puts in front of the handler.
//!
//! - `platform` (the handler then believes `x-ms-client-principal`) exactly when App Service
//!   authentication (`authsettingsV2`, `modules/catalogue-auth.bicep`, deployed by `main.bicep` under
//!   a condition) is in front: authentication required, 401 for the
//!   unauthenticated, only `/api/health` and the Event Grid webhook excluded, the Microsoft Entra
//!   provider with the app registration's client id. Without it, anyone holding a function key could
//!   send a forged principal header.
//! - `jwt`: the authority (a `/v2.0` issuer) and the audience come from the app registration.
//! - never `none`: the function key alone would guard user names, e-mails and client IPs.

use super::{parse_bicep_pairs, read};

const FILE: &str = "infra/modules/functionapp.bicep";
const MAIN: &str = "infra/main.bicep";
const AUTH: &str = "infra/modules/catalogue-auth.bicep";

/// The three files involved.
struct Files {
    app: String,
    main: String,
    auth: String,
}

impl Files {
    fn read() -> Self {
        Self {
            app: read(FILE),
            main: read(MAIN),
            auth: read(AUTH),
        }
    }
}

/// The values an app-setting expression can take: a literal, or a parameter's `@allowed` list.
fn possible(text: &str, expr: &str) -> Vec<String> {
    if let Some(lit) = expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
        return vec![lit.to_owned()];
    }
    let Some(at) = text.find(&format!("param {expr} string")) else {
        return Vec::new();
    };
    let before = &text[..at];
    let decorators = &before[before.rfind("\nparam ").unwrap_or(0)..];
    decorators
        .rfind("@allowed([")
        .map(|i| &decorators[i..])
        .and_then(|d| d.split(']').next())
        .map(|list| {
            list.split('\'')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The condition under which main.bicep deploys the authentication module (empty when always),
/// and the module's `authsettingsV2` resource body; `None` when either is missing.
fn auth_settings(f: &Files) -> Option<(String, &str)> {
    let call = f.main.find("'modules/catalogue-auth.bicep' = ")?;
    let header = f.main[call..].lines().next().unwrap_or_default();
    let condition = header
        .split_once("= if (")
        .and_then(|(_, c)| c.rsplit_once(") {"))
        .map_or(String::new(), |(c, _)| c.trim().to_owned());
    let name = f.auth.find("name: 'authsettingsV2'")?;
    let start = f.auth[..name].rfind("resource ")?;
    f.auth[start..name]
        .contains("'Microsoft.Web/sites/config@")
        .then_some((condition, &f.auth[name..]))
}

/// Every disagreement among the three files.
fn auth_drift(f: &Files) -> Vec<String> {
    let text = f.app.as_str();
    let mut out = Vec::new();
    let pairs = match parse_bicep_pairs(text) {
        Ok(p) => p,
        Err(e) => return vec![e],
    };
    let value = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let Some(expr) = value("CATALOGUE_AUTH") else {
        return vec![format!("{FILE} does not set CATALOGUE_AUTH")];
    };
    let modes = possible(text, expr);
    if modes.is_empty()
        || modes
            .iter()
            .any(|m| !["jwt", "platform"].contains(&m.as_str()))
    {
        out.push(format!(
            "CATALOGUE_AUTH in {FILE} can be {modes:?}: only jwt or platform may run in Azure (none leaves the catalogue to the function key)"
        ));
    }
    let platform = modes.iter().any(|m| m == "platform");
    match (platform, auth_settings(f)) {
        (false, Some(_)) => out.push(format!(
            "{MAIN} deploys authsettingsV2 ({AUTH}) but CATALOGUE_AUTH is never platform"
        )),
        (true, None) => out.push(format!(
            "CATALOGUE_AUTH can be platform, but {MAIN} deploys no authsettingsV2 ({AUTH}): the handler would trust a forged x-ms-client-principal"
        )),
        (true, Some((condition, body))) => {
            let want = if modes.len() == 1 {
                String::new()
            } else {
                format!("{expr} == 'platform'")
            };
            if condition != want {
                out.push(format!(
                    "{MAIN} deploys authsettingsV2 if ({condition}), but CATALOGUE_AUTH is platform if ({want})"
                ));
            }
            let same = ["clientId: catalogueAuthClientId", "catalogueAuth: catalogueAuth"];
            if !same.iter().all(|s| f.main.contains(s)) {
                out.push(format!(
                    "{MAIN} does not hand the same catalogueAuth and app registration to {FILE} and {AUTH}"
                ));
            }
            for needle in [
                "requireAuthentication: true",
                "unauthenticatedClientAction: 'Return401'",
                "'/api/health'",
                "azureActiveDirectory: {",
                "enabled: true",
                "clientId: clientId",
            ] {
                if !body.contains(needle) {
                    out.push(format!("authsettingsV2 in {AUTH} lacks `{needle}`"));
                }
            }
            let excluded = body.split("excludedPaths: [").nth(1).and_then(|e| e.split(']').next());
            for path in excluded.into_iter().flat_map(|e| e.split('\'').skip(1).step_by(2)) {
                if !["/api/health", "/runtime/webhooks/eventgrid"].contains(&path) {
                    out.push(format!("authsettingsV2 in {AUTH} lets {path} through unauthenticated"));
                }
            }
        }
        (false, None) => {}
    }
    if modes.iter().any(|m| m == "jwt") {
        for name in ["CATALOGUE_JWT_AUTHORITY", "CATALOGUE_JWT_AUDIENCE"] {
            match value(name) {
                None | Some("''") => out.push(format!(
                    "CATALOGUE_AUTH can be jwt, but {FILE} gives {name} no value"
                )),
                Some(v) if !v.contains("catalogueAuthClientId") && !v.contains("jwtAuthority") => {
                    out.push(format!(
                        "{name} in {FILE} is not derived from the app registration: {v}"
                    ))
                }
                _ => {}
            }
        }
        if !text.contains("/v2.0'") {
            out.push(format!("the jwt authority in {FILE} is not a v2.0 issuer"));
        }
    }
    if pairs
        .iter()
        .any(|(k, _)| k == "CATALOGUE_REQUIRE_PRINCIPAL")
    {
        out.push(format!(
            "{FILE} still sets CATALOGUE_REQUIRE_PRINCIPAL, replaced by CATALOGUE_AUTH"
        ));
    }
    out
}

#[test]
fn catalogue_auth_matches_the_platform_authentication_in_front() {
    let problems = auth_drift(&Files::read());
    assert!(
        problems.is_empty(),
        "catalogue authentication drifted:\n  {}",
        problems.join("\n  ")
    );
}

// The checker itself must be able to fail.
#[test]
fn auth_drift_reports_each_disagreement() {
    type Edit = fn(&mut Files) -> &mut String;
    let app: Edit = |f| &mut f.app;
    let main: Edit = |f| &mut f.main;
    let auth: Edit = |f| &mut f.auth;
    let cases: [(Edit, &str, &str, &str); 7] = [
        (
            auth,
            "name: 'authsettingsV2'",
            "name: 'authsettings'",
            "deploys no authsettingsV2",
        ),
        (
            main,
            " = if (catalogueAuth == 'platform')",
            " =",
            "deploys authsettingsV2 if ()",
        ),
        (
            app,
            "  'platform'\n])\nparam catalogueAuth",
            "  'platform'\n  'none'\n])\nparam catalogueAuth",
            "only jwt or platform",
        ),
        (
            auth,
            "'Return401'",
            "'AllowAnonymous'",
            "lacks `unauthenticatedClientAction: 'Return401'`",
        ),
        (
            auth,
            "'/runtime/webhooks/eventgrid'",
            "'/api/recordings'",
            "lets /api/recordings through",
        ),
        (
            app,
            "CATALOGUE_JWT_AUDIENCE: catalogueAuth == 'jwt' ? catalogueAuthClientId : ''",
            "CATALOGUE_JWT_AUDIENCE: ''",
            "gives CATALOGUE_JWT_AUDIENCE no value",
        ),
        (
            app,
            "  'jwt'\n  'platform'\n])\nparam catalogueAuth",
            "  'jwt'\n])\nparam catalogueAuth",
            "but CATALOGUE_AUTH is never platform",
        ),
    ];
    for (edit, from, to, needle) in cases {
        let mut f = Files::read();
        let text = edit(&mut f);
        assert!(text.contains(from), "the case `{from}` no longer applies");
        *text = text.replacen(from, to, 1);
        let found = auth_drift(&f).join("\n");
        assert!(
            found.contains(needle),
            "`{from}` → `{to}`: want `{needle}` in:\n{found}"
        );
    }
}

//! The Log Analytics workspace source: `AUDITLOGS_WORKSPACES` (`<workspace id>[@<bastion>]`,
//! comma-separated; the id is the workspace's customer id, a GUID), `LOGANALYTICS_ENDPOINT`
//! (https; http only to loopback with `CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK=true`) and the
//! reading's lag, overlap and page size.

use time::Duration;
use url::Url;

use super::auth::check_endpoint;
use super::sources::bastion_name;
use crate::audit_logs::query::{QuerySettings, Workspace};
use crate::loganalytics::DEFAULT_ENDPOINT;
use crate::setting::Reader;

/// The workspace source's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceConfig {
    /// Workspaces and reading settings.
    pub query: QuerySettings,
    /// `LOGANALYTICS_ENDPOINT` (`None` only when it is invalid: start-up then stops).
    pub endpoint: Option<Url>,
}

/// Reads the settings, recording problems in `r`; `insecure_loopback` is
/// `CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK`, read once by the caller.
pub fn read(r: &mut Reader<'_>, insecure_loopback: bool) -> WorkspaceConfig {
    let d = QuerySettings::default();
    let mut seconds =
        |k: &str, d: Duration, max: i64| Duration::seconds(r.number(k, d.whole_seconds(), 0..=max));
    let lag = seconds("AUDITLOGS_QUERY_LAG_SECONDS", d.lag, 3600);
    let overlap = seconds("AUDITLOGS_QUERY_OVERLAP_SECONDS", d.overlap, 86_400);
    let page_rows = r.number("AUDITLOGS_QUERY_PAGE_ROWS", d.page_rows, 1..=500_000);
    let workspaces = r
        .get("AUDITLOGS_WORKSPACES")
        .map(|v| parse(&v, r.errors_mut()))
        .unwrap_or_default();
    let raw = r
        .get("LOGANALYTICS_ENDPOINT")
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
    let endpoint = check_endpoint(&raw, insecure_loopback)
        .map_err(|why| r.problem("LOGANALYTICS_ENDPOINT", why))
        .ok();
    WorkspaceConfig {
        query: QuerySettings {
            workspaces,
            lag,
            overlap,
            page_rows,
        },
        endpoint,
    }
}

fn parse(value: &str, errors: &mut Vec<String>) -> Vec<Workspace> {
    let mut out: Vec<Workspace> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, bastion) = match entry.split_once('@') {
            Some((id, b)) => (id.trim(), Some(b.trim())),
            None => (entry, None),
        };
        let Ok(id) = uuid::Uuid::parse_str(id) else {
            errors.push("AUDITLOGS_WORKSPACES: an entry's workspace id is not a GUID (the workspace's customer id)".to_owned());
            continue;
        };
        let bastion = match bastion.map(bastion_name) {
            Some(None) => {
                errors.push("AUDITLOGS_WORKSPACES: an entry's Bastion host is neither a name nor a bastionHosts resource id".to_owned());
                continue;
            }
            other => other.flatten(),
        };
        let ws = Workspace {
            id: id.hyphenated().to_string(),
            bastion,
        };
        if out.iter().any(|o| o.id == ws.id) {
            errors.push("AUDITLOGS_WORKSPACES: a workspace is listed twice".to_owned());
            continue;
        }
        out.push(ws);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setting::read_pairs;

    #[test]
    fn entries_name_workspaces_and_their_bastions() {
        let (c, problems) = read_pairs(
            &[(
                "AUDITLOGS_WORKSPACES",
                "A1B2C3D4-0000-4000-8000-000000000001@bas-hub-weu, a1b2c3d4-0000-4000-8000-000000000002",
            )],
            |r| read(r, false),
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            c.query.workspaces,
            vec![
                Workspace {
                    id: "a1b2c3d4-0000-4000-8000-000000000001".into(),
                    bastion: Some("bas-hub-weu".into())
                },
                Workspace {
                    id: "a1b2c3d4-0000-4000-8000-000000000002".into(),
                    bastion: None
                },
            ]
        );
        assert_eq!(
            c.endpoint.map(String::from).as_deref(),
            Some("https://api.loganalytics.azure.com/")
        );
    }

    #[test]
    fn bad_entries_and_endpoints_are_named_without_their_values() {
        let (_, problems) = read_pairs(
            &[
                (
                    "AUDITLOGS_WORKSPACES",
                    "not-a-guid,a1b2c3d4-0000-4000-8000-000000000001@x/y",
                ),
                ("LOGANALYTICS_ENDPOINT", "http://127.0.0.2:9/"),
            ],
            |r| read(r, false),
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems
                .iter()
                .all(|p| !p.contains("not-a-guid") && !p.contains("127.0.0.2"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("LOGANALYTICS_ENDPOINT"))
        );
        let (c, problems) = read_pairs(&[("LOGANALYTICS_ENDPOINT", "http://127.0.0.1:9/")], |r| {
            read(r, true)
        });
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            c.endpoint.map(String::from).as_deref(),
            Some("http://127.0.0.1:9/")
        );
        assert!(c.query.workspaces.is_empty(), "unset: no workspace source");
    }
}

//! The custody settings: the workspace receiving the recording accounts' `StorageBlobLogs` and
//! how long an actor is looked for.

use time::Duration;

use crate::setting::Reader;

/// The custody settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodySettings {
    /// The workspace (customer id) receiving the recording accounts' `StorageBlobLogs`
    /// (`CUSTODY_WORKSPACE_ID`); `None`: no actor lookups, no trails.
    pub workspace: Option<String>,
    /// How long an actor is looked for before it is unknown (`CUSTODY_ACTOR_WAIT_MINUTES`).
    pub actor_wait: Duration,
}

impl CustodySettings {
    /// Reads `CUSTODY_WORKSPACE_ID` (a GUID) and `CUSTODY_ACTOR_WAIT_MINUTES` (1–1440).
    pub fn from_reader(r: &mut Reader<'_>) -> Self {
        let minutes = r.number("CUSTODY_ACTOR_WAIT_MINUTES", 60, 1..=1440);
        let workspace =
            r.get("CUSTODY_WORKSPACE_ID")
                .and_then(|v| match uuid::Uuid::parse_str(v.trim()) {
                    Ok(id) => Some(id.hyphenated().to_string()),
                    Err(_) => {
                        r.problem(
                            "CUSTODY_WORKSPACE_ID",
                            "a Log Analytics workspace id (its customer id, a GUID)",
                        );
                        None
                    }
                });
        Self {
            workspace,
            actor_wait: Duration::minutes(minutes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_is_a_guid_and_the_wait_is_bounded() {
        let env = |k: &str| match k {
            "CUSTODY_WORKSPACE_ID" => Some("A1B2C3D4-0000-4000-8000-000000000001".to_owned()),
            "CUSTODY_ACTOR_WAIT_MINUTES" => Some("5".to_owned()),
            _ => None,
        };
        let mut r = Reader::new(&env);
        let s = CustodySettings::from_reader(&mut r);
        assert!(r.into_errors().is_empty());
        assert_eq!(
            s.workspace.as_deref(),
            Some("a1b2c3d4-0000-4000-8000-000000000001")
        );
        assert_eq!(s.actor_wait, Duration::minutes(5));
        let bad = |k: &str| match k {
            "CUSTODY_WORKSPACE_ID" => Some("my-workspace".to_owned()),
            "CUSTODY_ACTOR_WAIT_MINUTES" => Some("0".to_owned()),
            _ => None,
        };
        let mut r = Reader::new(&bad);
        let s = CustodySettings::from_reader(&mut r);
        let errors = r.into_errors();
        assert_eq!(s.workspace, None);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().all(|e| !e.contains("my-workspace")));
    }
}

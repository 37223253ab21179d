//! The comparison: the grants that reach each exercised scope, and what drifted.

use std::collections::BTreeSet;

use bastion_recordings::permissions::Operation;

use super::bicep::{self, Grant, Scope};
use super::exercise;
use super::record::{APP, AUDIT_LOGS, BASTION, RECORDINGS, Resource, SENTINEL, Seen, WORKSPACES};
use super::roles::RoleTable;

/// An access module: the connection it serves and the container its container-scoped roles address.
/// The modules assign them per source (each source's own container, checked by [`bicep`]); the
/// exercise runs one source per kind, whose container is the one named here.
pub(super) struct Module {
    pub(super) file: &'static str,
    connection: &'static str,
    container: Option<&'static str>,
    /// Its subscription-scope grants are at the `BYPASS_SCOPES` subscriptions (not the hosts').
    bypass: bool,
}

pub(super) const MODULES: [Module; 11] = [
    Module {
        file: "recordings-access.bicep",
        connection: RECORDINGS,
        container: Some(exercise::RECORDINGS_CONTAINER),
        bypass: false,
    },
    Module {
        file: "auditlogs-access.bicep",
        connection: AUDIT_LOGS,
        container: Some(exercise::AUDIT_CONTAINER),
        bypass: false,
    },
    Module {
        file: "app-access.bicep",
        connection: APP,
        container: None,
        bypass: false,
    },
    Module {
        file: "workspace-access.bicep",
        connection: WORKSPACES,
        container: None,
        bypass: false,
    },
    Module {
        file: "bastion-access.bicep",
        connection: BASTION,
        container: None,
        bypass: false,
    },
    Module {
        file: "recordings-settings-access.bicep",
        connection: RECORDINGS,
        container: None,
        bypass: false,
    },
    Module {
        file: "bastion-operations-access.bicep",
        connection: BASTION,
        container: None,
        bypass: false,
    },
    Module {
        file: "activity-log-settings-access.bicep",
        connection: BASTION,
        container: None,
        bypass: false,
    },
    Module {
        file: "session-targets-access.bicep",
        connection: BASTION,
        container: None,
        bypass: false,
    },
    Module {
        file: "bypass-scopes-access.bicep",
        connection: BASTION,
        container: None,
        bypass: true,
    },
    Module {
        file: "sentinel-access.bicep",
        connection: SENTINEL,
        container: None,
        bypass: false,
    },
];

fn read(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Every grant of the access modules, with its module.
pub(super) fn infra(
    table: &RoleTable,
    edit: &dyn Fn(&str, String) -> String,
) -> Vec<(&'static Module, Grant)> {
    MODULES
        .iter()
        .flat_map(|m| {
            let text = edit(m.file, read(&format!("infra/modules/{}", m.file)));
            let grants = bicep::grants(m.file, &text, table).unwrap_or_else(|e| panic!("{e}"));
            grants
                .into_iter()
                .filter(|g| g.scope != Scope::Other)
                .map(move |g| (m, g))
        })
        .collect()
}

/// The app-account containers infra/ creates: the `for c in [...]` list of storage.bicep and the
/// containers it declares one by one (`name: <param>`), resolved through the defaults of the
/// main.bicep parameters passed to it.
pub(super) fn app_containers() -> Vec<String> {
    let storage = bicep::strip_comments(&read("infra/modules/storage.bicep"));
    let main = bicep::strip_comments(&read("infra/main.bicep"));
    let list = storage
        .split("for c in ")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .expect("containers loop");
    let single = storage
        .split("resource ")
        .filter(|r| r.contains("'Microsoft.Storage/storageAccounts/blobServices/containers@"))
        .filter_map(|r| r.split("name: ").nth(1)?.split_whitespace().next())
        .filter(|p| *p != "c");
    list.trim_start_matches('[')
        .split(',')
        .chain(single)
        .map(|p| {
            // A name written in the module itself.
            if let Some(literal) = p.trim().strip_prefix('\'') {
                return literal.trim_end_matches('\'').to_owned();
            }
            let decl = format!("param {} string = '", p.trim());
            let i = main
                .find(&decl)
                .unwrap_or_else(|| panic!("main.bicep: no default for {p}"));
            main[i + decl.len()..]
                .split('\'')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn scope_text(m: &Module, g: &Grant) -> String {
    let when = g
        .condition
        .as_deref()
        .map(|c| format!(" (if {c})"))
        .unwrap_or_default();
    match (&g.scope, m.container) {
        (Scope::Container, Some(c)) => format!("{} container {c}{when}", m.connection),
        (Scope::Workspace, _) => format!("each {} workspace{when}", m.connection),
        (Scope::BastionHost, _) => format!("each of the {} hosts{when}", m.connection),
        (Scope::DataCollectionRule, _) => {
            format!("the {} data collection rule{when}", m.connection)
        }
        (Scope::Subscription, _) if m.bypass => format!("each BYPASS_SCOPES subscription{when}"),
        (Scope::Subscription, _) => {
            format!(
                "the subscription of each of the {} hosts{when}",
                m.connection
            )
        }
        (Scope::ResourceGroup, _) => format!("each resource group of session targets{when}"),
        _ => format!("the {} account{when}", m.connection),
    }
}

fn reaches(m: &Module, g: &Grant, connection: &str, res: &Resource) -> bool {
    m.connection == connection
        && match g.scope {
            Scope::Account => true,
            Scope::Container => m
                .container
                .is_some_and(|c| *res == Resource::Container(c.into())),
            Scope::Workspace => *res == Resource::Workspace,
            Scope::BastionHost => *res == Resource::BastionHost,
            Scope::DataCollectionRule => *res == Resource::DataCollectionRule,
            // A grant at a subscription reaches the URLs under it that no resource group holds;
            // a resource group's reaches the session targets in it.
            Scope::Subscription if m.bypass => *res == Resource::BypassSubscription,
            Scope::Subscription => *res == Resource::Subscription,
            Scope::ResourceGroup => *res == Resource::Vm,
            Scope::Other => false,
        }
}

fn names(fns: &BTreeSet<String>) -> String {
    fns.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Everything that drifted between `seen` and `grants`.
pub(super) fn drift(
    seen: &Seen,
    grants: &[(&Module, Grant)],
    table: &RoleTable,
    app_containers: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for ((conn, res), ops) in seen {
        // The modules that could grant it: those with a grant at a scope reaching it (a
        // container's, only those about a container), else every module of the connection.
        let about = |m: &Module| !matches!(res, Resource::Container(_)) || m.container.is_some();
        let mut files: Vec<&str> = grants
            .iter()
            .filter(|(m, g)| reaches(m, g, conn, res) && about(m))
            .map(|(m, _)| m.file)
            .collect();
        files.dedup();
        if files.is_empty() {
            files = MODULES
                .iter()
                .filter(|m| m.connection == *conn && about(m))
                .map(|m| m.file)
                .collect();
        }
        let reaching: Vec<&Grant> = grants
            .iter()
            .filter(|(m, g)| reaches(m, g, conn, res))
            .map(|(_, g)| g)
            .collect();
        for (op, fns) in ops {
            if !reaching
                .iter()
                .any(|g| g.patterns.iter().any(|p| op.allowed_by(p)))
            {
                out.push(format!(
                    "{} perform {} ({}) on {conn} {res}, which no role in infra/modules/{} grants",
                    names(fns),
                    op.name(),
                    op.permissions()[0],
                    if files.is_empty() {
                        "*".to_owned()
                    } else {
                        files.join(", infra/modules/")
                    }
                ));
            }
        }
        if let Resource::Container(c) = res
            && conn == APP
            && !app_containers.contains(c)
        {
            let fns: BTreeSet<String> = ops.values().flatten().cloned().collect();
            out.push(format!(
                "{} use container {c} of {APP}, which infra/modules/storage.bicep does not create",
                names(&fns)
            ));
        }
    }
    for (m, g) in grants {
        let used: Vec<(&Operation, &BTreeSet<String>)> = seen
            .iter()
            .filter(|((conn, res), _)| reaches(m, g, conn, res))
            .flat_map(|(_, ops)| ops.iter())
            .collect();
        let allowed = |p: &str| used.iter().any(|(op, _)| op.allowed_by(p));
        if g.custom {
            for p in g.patterns.iter().filter(|p| !allowed(p)) {
                out.push(format!(
                    "infra/modules/{} grants {p} ({}) on {}, which no function uses",
                    m.file,
                    g.role,
                    scope_text(m, g)
                ));
            }
        } else if !g.patterns.iter().any(|p| allowed(p))
            && table.host_need(m.connection, &g.role).is_none()
        {
            out.push(format!(
                "infra/modules/{} assigns {} on {}, which neither a function nor the Functions host needs",
                m.file,
                g.role,
                scope_text(m, g)
            ));
        }
    }
    for need in table.host_needs() {
        let granted = grants.iter().any(|(m, g)| {
            m.connection == need.connection && g.role == need.role && g.scope == Scope::Account
        });
        if !granted {
            out.push(format!(
                "the Functions host needs {} on the {} account ({}), which no module in infra/modules assigns",
                need.role, need.connection, need.why
            ));
        }
    }
    out
}

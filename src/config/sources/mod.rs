//! The watched containers, from settings: `RECORDINGS_SOURCES` and `AUDITLOGS_SOURCES` (unset: the
//! default container on the app's own storage, `AzureWebJobsStorage`).
//!
//! An entry is `<connection>:<container>[@<bastion>]`: `<connection>` names a connection setting
//! in the Functions convention (a connection string, or `<name>__accountName` /
//! `__blobServiceUri` / `__credential` / `__clientId` for managed identity), `<bastion>` the
//! Bastion host recording into the container (its name, or its resource id). Audit-log entries are
//! `<connection>[:<container>]`. The first recording entry is the default source.

use crate::azure::connection::StorageConnection;
use crate::setting::Reader;

/// Default audit-log container (the diagnostic setting's category).
pub const AUDITLOGS_DEFAULT: &str = "insights-logs-bastionauditlogs";
/// Default recordings container.
pub const RECORDINGS_DEFAULT: &str = "recordings";

/// One watched container, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// The connection setting's name.
    pub connection: String,
    /// The connection (`None` when storage is in memory).
    pub conn: Option<StorageConnection>,
    /// Container name.
    pub container: String,
    /// The Bastion host recording into it (name, lower-case).
    pub bastion: Option<String>,
    /// That host's resource id, when the configuration names it by id (for portal links).
    pub bastion_id: Option<String>,
}

/// Every watched container, by kind; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpecs {
    /// Recording sources, the default first.
    pub recordings: Vec<SourceSpec>,
    /// Audit-log sources.
    pub audit_logs: Vec<SourceSpec>,
}

/// How one kind of source is configured.
struct Kind {
    list: &'static str,
    storage: &'static str,
    container: &'static str,
    default: &'static str,
    bastion: bool,
}

const RECORDINGS: Kind = Kind {
    list: "RECORDINGS_SOURCES",
    storage: "RECORDINGS_STORAGE",
    container: "RECORDINGS_CONTAINER",
    default: RECORDINGS_DEFAULT,
    bastion: true,
};

const AUDIT_LOGS: Kind = Kind {
    list: "AUDITLOGS_SOURCES",
    storage: "AUDITLOGS_STORAGE",
    container: "AUDITLOGS_CONTAINER",
    default: AUDITLOGS_DEFAULT,
    bastion: false,
};

/// Reads both kinds. `app` is the app's own connection (`None` when unusable), the one of an unset
/// list's default container. Problems are appended to `errors`, naming settings, never values.
pub fn read(
    env: &dyn Fn(&str) -> Option<String>,
    app: Option<&StorageConnection>,
    errors: &mut Vec<String>,
) -> SourceSpecs {
    let mut read_kind = |k: &Kind| read_kind(k, env, app, errors);
    let recordings = read_kind(&RECORDINGS);
    let audit_logs = read_kind(&AUDIT_LOGS);
    SourceSpecs {
        recordings,
        audit_logs,
    }
}

fn read_kind(
    kind: &Kind,
    env: &dyn Fn(&str) -> Option<String>,
    app: Option<&StorageConnection>,
    errors: &mut Vec<String>,
) -> Vec<SourceSpec> {
    let r = Reader::new(env);
    // The single-source settings are gone: a source is named in its list, nowhere else. A
    // connection the list names (`RECORDINGS_STORAGE:rec`) is an ordinary connection setting.
    let list = r.get(kind.list);
    let storage =
        list.is_none() && !matches!(StorageConnection::resolve(kind.storage, env), Ok(None));
    let old: Vec<&str> = [
        (kind.storage, storage),
        (kind.container, r.get(kind.container).is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if !old.is_empty() {
        errors.push(format!(
            "{}: no longer read; name the source in {} as <connection>:<container>{}",
            old.join(", "),
            kind.list,
            if kind.bastion { "[@<bastion>]" } else { "" }
        ));
    }
    let Some(list) = list else {
        return vec![SourceSpec {
            connection: "AzureWebJobsStorage".to_owned(),
            conn: app.cloned(),
            container: kind.default.to_owned(),
            bastion: None,
            bastion_id: None,
        }];
    };
    let mut specs: Vec<SourceSpec> = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some(spec) = parse_entry(kind, entry, errors) else {
            continue;
        };
        let unset = format!(
            "{}: connection setting {} is not set",
            kind.list, spec.connection
        );
        let conn = resolve(&spec.connection, unset, env, errors);
        let spec = SourceSpec { conn, ..spec };
        let account = |s: &SourceSpec| s.conn.as_ref().map(|c| c.account.to_ascii_lowercase());
        if specs
            .iter()
            .any(|s| s.container == spec.container && account(s) == account(&spec))
        {
            errors.push(format!(
                "{}: {}:{} is listed twice (the same container of the same account)",
                kind.list, spec.connection, spec.container
            ));
            continue;
        }
        specs.push(spec);
    }
    if specs.is_empty() && !errors.iter().any(|e| e.starts_with(kind.list)) {
        errors.push(format!("{}: lists no source", kind.list));
    }
    specs
}

/// The connection setting `name`, or `None` with its problem in `errors` (`unset` when it is not).
pub(super) fn resolve(
    name: &str,
    unset: String,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<String>,
) -> Option<StorageConnection> {
    match StorageConnection::resolve(name, env) {
        Ok(Some(c)) => Some(c),
        Ok(None) => {
            errors.push(unset);
            None
        }
        // Set but unusable: its problem is named; "not set" would point the wrong way.
        Err(mut e) => {
            errors.append(&mut e);
            None
        }
    }
}

/// One entry, unresolved.
fn parse_entry(kind: &Kind, entry: &str, errors: &mut Vec<String>) -> Option<SourceSpec> {
    let (head, bastion) = match entry.split_once('@') {
        Some((h, b)) if kind.bastion => (h, Some(b)),
        Some(_) => {
            errors.push(format!("{}: entries name no Bastion host (`@`)", kind.list));
            return None;
        }
        None => (entry, None),
    };
    let (connection, container) = match head.split_once(':') {
        Some((c, k)) => (c.trim(), k.trim()),
        None if !kind.bastion => (head.trim(), kind.default),
        None => {
            errors.push(format!(
                "{}: an entry is not <connection>:<container>[@<bastion>]",
                kind.list
            ));
            return None;
        }
    };
    let valid_name = !connection.is_empty()
        && connection
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        errors.push(format!(
            "{}: a connection name is not a setting name",
            kind.list
        ));
        return None;
    }
    if !check_container(container, kind.list, errors) {
        return None;
    }
    let bastion_id = bastion
        .map(str::trim)
        .filter(|b| b.contains('/'))
        .map(str::to_owned);
    let bastion = match bastion.map(bastion_name) {
        Some(None) => {
            errors.push(format!(
                "{}: the Bastion host of {connection}:{container} is neither a name nor a bastionHosts resource id",
                kind.list
            ));
            return None;
        }
        other => other.flatten(),
    };
    Some(SourceSpec {
        connection: connection.to_owned(),
        conn: None,
        container: container.to_owned(),
        bastion,
        bastion_id,
    })
}

/// The Bastion host's name (lower-case) from a name or a `…/bastionHosts/<name>` resource id.
pub fn bastion_name(label: &str) -> Option<String> {
    let label = label.trim();
    let name = match label.contains('/') {
        true => {
            let mut parts = label.split('/').filter(|p| !p.is_empty());
            parts
                .by_ref()
                .find(|p| p.eq_ignore_ascii_case("bastionHosts"))?;
            parts.next()?
        }
        false => label,
    };
    let valid = (1..=80).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid.then(|| name.to_ascii_lowercase())
}

/// Whether `name` is a valid container name; if not, a problem of `setting`.
pub(super) fn check_container(name: &str, setting: &str, errors: &mut Vec<String>) -> bool {
    let ok = is_valid_container(name);
    if !ok {
        errors.push(format!(
            "{setting}: not a valid container name (3-63 lower-case letters, digits, dashes)"
        ));
    }
    ok
}

/// Container names: 3–63 characters, lower-case letters, digits and single dashes.
pub fn is_valid_container(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

#[cfg(test)]
mod tests;

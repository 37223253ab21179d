//! The checked-in built-in role table (`tests/fixtures/azure/builtin-storage-roles.json`): each
//! storage role's documented actions and data actions, the non-storage roles infra/ also assigns,
//! and the roles the Functions host itself needs on its storage (with the documentation's words).

use serde::Deserialize;

/// One built-in role as documented.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Role {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) actions: Vec<String>,
    pub(super) data_actions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct NotStorage {
    id: String,
    name: String,
    #[allow(dead_code, reason = "documentation in the fixture")]
    why: String,
}

/// A role the Functions host needs on a connection, whatever the functions do.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct HostNeed {
    pub(super) connection: String,
    pub(super) role: String,
    pub(super) why: String,
}

#[derive(Debug, Deserialize)]
struct Host {
    source: String,
    needs: Vec<HostNeed>,
}

/// The table.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RoleTable {
    pub(super) source: String,
    roles: Vec<Role>,
    not_storage: Vec<NotStorage>,
    functions_host: Host,
}

impl RoleTable {
    /// Reads the fixture.
    pub(super) fn load() -> Self {
        serde_json::from_value(crate::harness::fixture("azure/builtin-storage-roles.json"))
            .expect("builtin-storage-roles.json")
    }

    /// The storage role with this id.
    pub(super) fn get(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// The name of a listed non-storage role.
    pub(super) fn not_storage(&self, id: &str) -> Option<&str> {
        self.not_storage
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(id))
            .map(|r| r.name.as_str())
    }

    /// Why the host needs `role` on `connection` (with the source), if it does.
    pub(super) fn host_need(&self, connection: &str, role: &str) -> Option<String> {
        let h = &self.functions_host;
        h.needs
            .iter()
            .find(|n| n.connection == connection && n.role == role)
            .map(|n| format!("{} ({})", n.why, h.source))
    }

    /// Every declared host need.
    pub(super) fn host_needs(&self) -> &[HostNeed] {
        &self.functions_host.needs
    }
}

#[test]
fn role_table_is_consistent() {
    let t = RoleTable::load();
    assert!(t.source.starts_with("https://learn.microsoft.com/"));
    for n in t.host_needs() {
        assert!(
            t.roles.iter().any(|r| r.name == n.role),
            "host need {} is not in the table",
            n.role
        );
        assert!(n.why.len() > 20, "{}: no reason", n.role);
    }
    let owner = t
        .get("B7E6DC6D-F1E8-4753-8033-0F276BB0955B")
        .expect("owner");
    assert_eq!(owner.name, "Storage Blob Data Owner");
    assert!(
        t.not_storage("3913510d-42f4-4e42-8a64-420c390055eb")
            .is_some()
    );
}

//! A VM as the Compute list of a subscription gives it (`GET /subscriptions/{id}/providers/
//! Microsoft.Compute/virtualMachines`, "Virtual Machines - List All"): its id and its child
//! extension resources (`resources`, read-only in the specification's `VirtualMachine`; the
//! example `VirtualMachine_ListAll_MaximumSet_Gen.json` shows them on each listed VM with their
//! `name` and `properties.type`, the `…_MinimumSet_Gen.json` one lists VMs without them). The
//! specification requires none of an extension's fields, and Resource Manager's list is known to
//! give an extension by its `id` alone: its name is then the id's, and its type is not told.

use serde::Deserialize;

/// One listed VM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ListedVm {
    /// Resource id.
    pub id: String,
    /// `resources`: its extensions; `None` when the list did not give them.
    pub resources: Option<Vec<ListedExtension>>,
}

/// One of a listed VM's extensions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ListedExtension {
    /// Its resource id (`{vm}/extensions/{name}`).
    pub id: String,
    /// The extension's resource name (chosen when it is installed).
    pub name: String,
    /// `properties`: its publisher and handler type.
    pub properties: ExtensionProperties,
}

/// `properties` of an extension, as far as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ExtensionProperties {
    /// `publisher`, e.g. `Microsoft.Azure.ActiveDirectory`.
    pub publisher: String,
    /// `type`: the handler, e.g. `AADSSHLoginForLinux`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Why a listed VM's entry cannot tell whether it has an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untold {
    /// The entry carries no `resources`.
    NoResources,
    /// None of its extensions is named or typed as asked, and one of them is given without its
    /// `properties.type` (it may be the one asked, installed under another name).
    Untyped,
}

impl ListedExtension {
    /// Its name: `name`, else what its `id` names after `/extensions/`.
    fn named(&self) -> &str {
        match self.name.as_str() {
            "" => (self.id.rsplit_once("/extensions/")).map_or("", |(_, n)| n),
            n => n,
        }
    }
}

impl ListedVm {
    /// Whether an extension named or typed any of `names` (any case) is among its `resources`:
    /// `Ok(false)` only when every one of them is given with its type.
    ///
    /// # Errors
    /// [`Untold`] when the entry cannot tell.
    pub fn has_any(&self, names: &[&str]) -> Result<bool, Untold> {
        let is = |a: &str| names.iter().any(|n| n.eq_ignore_ascii_case(a));
        let all = self.resources.as_ref().ok_or(Untold::NoResources)?;
        if all.iter().any(|x| is(x.named()) || is(&x.properties.kind)) {
            return Ok(true);
        }
        match all.iter().any(|x| x.properties.kind.is_empty()) {
            true => Err(Untold::Untyped),
            false => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shapes of the specification's `VirtualMachine_ListAll` examples (a VM with `resources`,
    /// its extensions by name and `properties.type`, and one without), and extensions given by
    /// their `id` alone: told by the id's name where it is the one asked, else not told.
    #[test]
    fn a_listed_vm_tells_its_extensions_only_when_the_list_gives_them() {
        let vm = |n: &str| {
            format!(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{n}"
            )
        };
        let page = serde_json::json!({"value": [
            {"id": vm("a"), "location": "eastus", "properties": {"vmId": "x"},
             "resources": [{"id": format!("{}/extensions/ssh-login", vm("a")),
                "name": "ssh-login", "properties": {"publisher": "Microsoft.Azure.ActiveDirectory",
                "type": "AADSSHLoginForLinux", "typeHandlerVersion": "1.0"}}]},
            {"id": vm("b"), "location": "eastus", "resources": [{"name": "AzureMonitorLinuxAgent",
                "properties": {"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent"}}]},
            {"id": vm("c"), "location": "eastus"},
            {"id": vm("d"), "location": "eastus", "resources": [
                {"id": format!("{}/extensions/AzureMonitorLinuxAgent", vm("d"))},
                {"id": format!("{}/extensions/AADLoginForWindows", vm("d"))}]},
            {"id": vm("e"), "location": "eastus", "resources": [
                {"id": format!("{}/extensions/AzureMonitorLinuxAgent", vm("e"))}]},
            {"id": vm("f"), "location": "eastus", "resources": []}
        ]});
        let vms: Vec<ListedVm> = serde_json::from_value(page["value"].clone()).expect("vms");
        let entra = ["AADSSHLoginForLinux", "AADLoginForWindows"];
        let got: Vec<Result<bool, Untold>> = vms.iter().map(|v| v.has_any(&entra)).collect();
        assert_eq!(
            got,
            [
                Ok(true),
                Ok(false),
                Err(Untold::NoResources),
                Ok(true),
                Err(Untold::Untyped),
                Ok(false)
            ]
        );
    }
}

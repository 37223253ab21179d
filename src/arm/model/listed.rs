//! A VM as the Compute list of a subscription gives it (`GET /subscriptions/{id}/providers/
//! Microsoft.Compute/virtualMachines`, "Virtual Machines - List All"): its id and its child
//! extension resources (`resources`, read-only in the specification's `VirtualMachine`; the
//! example `VirtualMachine_ListAll_MaximumSet_Gen.json` shows them on each listed VM, the
//! `…_MinimumSet_Gen.json` one lists VMs without them).

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

impl ListedVm {
    /// Whether an extension named or typed any of `names` (any case) is among its `resources`;
    /// `None` when the list gave none for it.
    pub fn has_any(&self, names: &[&str]) -> Option<bool> {
        let is = |a: &str| names.iter().any(|n| n.eq_ignore_ascii_case(a));
        (self.resources.as_ref()).map(|r| r.iter().any(|x| is(&x.name) || is(&x.properties.kind)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of the specification's `VirtualMachine_ListAll` examples: a VM with `resources`
    /// (its extensions by name and `properties.type`) and one without.
    #[test]
    fn a_listed_vm_tells_its_extensions_only_when_the_list_gives_them() {
        let page = serde_json::json!({"value": [
            {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a",
             "location": "eastus", "properties": {"vmId": "x"},
             "resources": [{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a/extensions/ssh-login",
                "name": "ssh-login", "properties": {"publisher": "Microsoft.Azure.ActiveDirectory",
                "type": "AADSSHLoginForLinux", "typeHandlerVersion": "1.0"}}]},
            {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/b",
             "location": "eastus", "resources": [{"name": "AzureMonitorLinuxAgent",
                "properties": {"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent"}}]},
            {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/c",
             "location": "eastus"}
        ]});
        let vms: Vec<ListedVm> = serde_json::from_value(page["value"].clone()).expect("vms");
        let entra = ["AADSSHLoginForLinux", "AADLoginForWindows"];
        let got: Vec<Option<bool>> = vms.iter().map(|v| v.has_any(&entra)).collect();
        assert_eq!(got, [Some(true), Some(false), None]);
    }
}

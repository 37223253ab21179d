//! VM extensions, deny by default: any extension written on a watched VM is a door unless its
//! publisher and type are on `BYPASS_EXTENSION_ALLOW`. Both are read from the request body the
//! Activity log row may carry (`Properties_d.requestbody`, JSON text or an object:
//! `properties.publisher` and `properties.type`, as the Compute specification's
//! `VirtualMachineExtension` has them); a row without a body, or a body naming neither, leaves
//! them unknown, and an unknown extension is a door. The extension's name never decides: it is
//! the caller's choice (a CustomScript can be named `AzureMonitorLinuxAgent`).

use serde_json::Value;

use crate::activity::events::Event;

/// `BYPASS_EXTENSION_ALLOW`'s default: Microsoft's monitoring and security agents, whose
/// extension runs only Microsoft's own fixed agent, never a command or script of the caller's
/// (docs/estate.md says why each is harmless, and which agents are left out and why).
pub const DEFAULT_ALLOW: [&str; 11] = [
    "Microsoft.Azure.Monitor/AzureMonitorLinuxAgent",
    "Microsoft.Azure.Monitor/AzureMonitorWindowsAgent",
    "Microsoft.Azure.Monitoring.DependencyAgent/DependencyAgentLinux",
    "Microsoft.Azure.Monitoring.DependencyAgent/DependencyAgentWindows",
    "Microsoft.Azure.Security.Monitoring/AzureSecurityLinuxAgent",
    "Microsoft.Azure.Security.Monitoring/AzureSecurityWindowsAgent",
    "Microsoft.Azure.AzureDefenderForServers/MDE.Linux",
    "Microsoft.Azure.AzureDefenderForServers/MDE.Windows",
    "Microsoft.Azure.NetworkWatcher/NetworkWatcherAgentLinux",
    "Microsoft.Azure.NetworkWatcher/NetworkWatcherAgentWindows",
    "Microsoft.Azure.Geneva/GenevaMonitoring",
];

/// True for one `BYPASS_EXTENSION_ALLOW` entry: `Publisher/Type`, each a non-empty dotted name.
pub fn is_entry(entry: &str) -> bool {
    let named = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    };
    entry
        .split_once('/')
        .is_some_and(|(p, t)| named(p) && named(t))
}

/// The publisher and type of the extension `e` wrote (lower-case, `publisher/type`), when its
/// row carries a request body naming both.
pub fn publisher_type(e: &Event) -> Option<String> {
    let body = e.body();
    let text = |p: &str| {
        body.pointer(p)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let (publisher, kind) = (text("/properties/publisher")?, text("/properties/type")?);
    Some(format!("{publisher}/{kind}").to_ascii_lowercase())
}

/// True when the extension `e` wrote is on `allow` (entries lower-case `publisher/type`).
pub fn allowed(e: &Event, allow: &[String]) -> bool {
    publisher_type(e).is_some_and(|pt| allow.contains(&pt))
}

/// What the evidence says of the extension `e` wrote: its name, publisher and type.
pub fn described(e: &Event) -> String {
    let name = e.resource.rsplit('/').next().unwrap_or_default();
    match publisher_type(e) {
        Some(pt) => format!("extension {name} ({pt})"),
        None => format!(
            "extension {name} (publisher and type unknown: the row carries no request body naming them)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::activity::events::Outcome;

    fn ext(name: &str, properties: Value) -> Event {
        Event {
            operation: crate::activity::events::EXTENSION_WRITE.into(),
            resource: format!(
                "/subscriptions/s/resourcegroups/g/providers/microsoft.compute/virtualmachines/vm1/extensions/{name}"
            ),
            correlation: "c".into(),
            outcome: Outcome::Succeeded,
            at: time::OffsetDateTime::UNIX_EPOCH,
            caller: String::new(),
            caller_ip: String::new(),
            properties,
            jit: None,
        }
    }

    fn body(publisher: &str, kind: &str) -> Value {
        let b = json!({"location": "westeurope", "properties": {"publisher": publisher, "type": kind,
            "typeHandlerVersion": "1.0", "autoUpgradeMinorVersion": true}});
        json!({"requestbody": b.to_string()})
    }

    #[test]
    fn only_an_allowed_publisher_and_type_from_the_body_pass() {
        let allow: Vec<String> = DEFAULT_ALLOW
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .collect();
        let agent = ext(
            "AzureMonitorLinuxAgent",
            body("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent"),
        );
        assert!(allowed(&agent, &allow));
        // A script named like an agent: the body decides.
        let disguised = ext(
            "AzureMonitorLinuxAgent",
            body("Microsoft.Azure.Extensions", "CustomScript"),
        );
        assert!(!allowed(&disguised, &allow));
        // No body: unknown, a door.
        assert!(!allowed(
            &ext("AzureMonitorLinuxAgent", Value::Null),
            &allow
        ));
        for (p, t) in [
            ("Microsoft.CPlat.Core", "RunCommandLinux"),
            ("Microsoft.Powershell", "DSC"),
            ("Microsoft.Azure.ActiveDirectory", "AADSSHLoginForLinux"),
            (
                "Microsoft.Azure.Automation.HybridWorker",
                "HybridWorkerForLinux",
            ),
            ("Microsoft.Azure.OpenSSH", "WindowsOpenSSH"),
            ("Microsoft.Compute", "CustomScriptExtension"),
        ] {
            assert!(!allowed(&ext("anything", body(p, t)), &allow), "{p}/{t}");
        }
        assert_eq!(
            described(&disguised),
            "extension AzureMonitorLinuxAgent (microsoft.azure.extensions/customscript)"
        );
        assert!(described(&ext("x", Value::Null)).contains("unknown"));
    }

    #[test]
    fn an_entry_is_publisher_slash_type() {
        assert!(DEFAULT_ALLOW.iter().all(|a| is_entry(a)));
        for bad in ["Microsoft.Azure.Monitor", "/x", "a/", "a b/c", "a/b/c"] {
            assert!(!is_entry(bad), "{bad}");
        }
    }
}

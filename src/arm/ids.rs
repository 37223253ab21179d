//! Azure resource ids as the other-doors check reads them (pure, lower-case): the VM a resource
//! is or lies under, its subscription, resource group and virtual network.

/// The VM a resource id is, or lies under (lower-case), if it is a VM's.
pub fn vm_of(resource: &str) -> Option<String> {
    let r = resource.to_ascii_lowercase();
    if !r.starts_with("/subscriptions/") {
        return None;
    }
    const VMS: &str = "/providers/microsoft.compute/virtualmachines/";
    let at = r.find(VMS)? + VMS.len();
    let name = r[at..].split('/').next().filter(|n| !n.is_empty())?;
    Some(format!("{}{name}", &r[..at]))
}

/// True when resource id `id` lies under `scope` (both lower-case; `scope` itself does not).
pub fn under(id: &str, scope: &str) -> bool {
    id.strip_prefix(scope).is_some_and(|r| r.starts_with('/'))
}

/// The subscription id (lower-case) of a resource id.
pub fn subscription_of(resource: &str) -> Option<String> {
    let mut parts = resource.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(""), Some(s), Some(id))
            if s.eq_ignore_ascii_case("subscriptions") && !id.is_empty() =>
        {
            Some(id.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// The scope a resource lies in: `/subscriptions/{s}/resourcegroups/{g}` (lower-case).
pub fn group_of(id: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    let parts: Vec<&str> = lower.trim_matches('/').split('/').collect();
    (parts.len() >= 4 && parts[0] == "subscriptions" && parts[2] == "resourcegroups")
        .then(|| format!("/subscriptions/{}/resourcegroups/{}", parts[1], parts[3]))
}

/// The virtual network a subnet id lies in (lower-case).
pub fn vnet_of(subnet: &str) -> String {
    let lower = subnet.to_ascii_lowercase();
    match lower.find("/subnets/") {
        Some(at) => lower[..at].to_owned(),
        None => lower,
    }
}

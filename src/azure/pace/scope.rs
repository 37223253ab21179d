//! The scope a Resource Manager throttle applies to: the resource provider a request is served
//! by, in the subscription it names. Resource Manager answers 429 per subscription and region
//! for its own limits, and each resource provider applies its own limits besides (documented for
//! `Microsoft.Network`, `Microsoft.Compute`, `Microsoft.Storage`); a provider's `Retry-After`
//! says nothing about another provider's calls, so only the calls that share both wait for it.

/// `subscription/provider` (lower-case) of a request path: the subscription after
/// `/subscriptions/`, and the namespace after its last `/providers/` (an extension resource such
/// as `…/bastionHosts/b1/providers/Microsoft.Insights/diagnosticSettings` is served by the
/// extension's provider). Empty parts where the path names none.
pub fn scope_of(path: &str) -> String {
    let lower = path.to_ascii_lowercase();
    let segments: Vec<&str> = lower.split('/').filter(|s| !s.is_empty()).collect();
    let after = |name: &str, last: bool| {
        let mut found = segments.windows(2).filter(|w| w[0] == name).map(|w| w[1]);
        if last {
            found.next_back()
        } else {
            found.next()
        }
        .unwrap_or_default()
    };
    format!(
        "{}/{}",
        after("subscriptions", false),
        after("providers", true)
    )
}

#[cfg(test)]
mod tests {
    use super::scope_of;

    const SUB: &str = "/subscriptions/11111111-2222-3333-4444-555555555555";

    #[test]
    fn the_scope_is_the_serving_provider_in_the_named_subscription() {
        let host = format!("{SUB}/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b1");
        let network = scope_of(&host);
        assert_eq!(
            network,
            "11111111-2222-3333-4444-555555555555/microsoft.network"
        );
        let poll = format!("{SUB}/providers/Microsoft.Network/locations/westeurope/operations/1");
        assert_eq!(
            scope_of(&poll),
            network,
            "an operation's poll: the same provider"
        );
        let diag = format!("{host}/providers/Microsoft.Insights/diagnosticSettings");
        assert_eq!(
            scope_of(&diag),
            "11111111-2222-3333-4444-555555555555/microsoft.insights"
        );
        let account = format!(
            "{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/blobServices/default"
        );
        assert_eq!(
            scope_of(&account),
            "11111111-2222-3333-4444-555555555555/microsoft.storage"
        );
        let other = host.replace("11111111-2222", "99999999-2222");
        assert_ne!(scope_of(&other), network, "another subscription");
        assert_eq!(
            scope_of("/providers/Microsoft.Authorization/operations"),
            "/microsoft.authorization"
        );
        assert_eq!(scope_of("/"), "/");
    }
}

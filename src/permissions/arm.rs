//! The Resource Manager calls, the RBAC action each needs and the scope of its grant, read from
//! the request itself ([`ArmOperation::of_request`]) so the polls of a long-running operation are
//! accounted for too: their status URLs sit under the subscription, where a role on the host cannot
//! reach. Result URLs and pages under the host have no documented action; the host's
//! `bastionHosts/*/read` grants them.

operations! {
    /// One Resource Manager operation.
    ArmOperation by ScopeKind;
    /// `GET` a Bastion host.
    ReadBastionHost: Host, "Get Bastion host", ["Microsoft.Network/bastionHosts/read"];
    /// `POST …/getActiveSessions` (and its next pages).
    GetActiveSessions: Host, "Get active sessions",
        ["Microsoft.Network/bastionHosts/getactivesessions/action"];
    /// `GET` an operation's result or a next page of the sessions under the host.
    ReadHostOperation: Host, "Get an operation result or page under the host", [
        "Microsoft.Network/bastionHosts/getActiveSessions/operationResults/read",
        "Microsoft.Network/bastionHosts/getActiveSessions/read",
    ];
    /// `GET /subscriptions/{sub}/providers/Microsoft.Network/locations/{region}/operations/{id}`:
    /// the status monitor (`Azure-AsyncOperation`).
    ReadOperationStatus: Subscription, "Get a Network operation's status",
        ["Microsoft.Network/locations/operations/read"];
    /// `GET /subscriptions/{sub}/providers/Microsoft.Network/locations/{region}/operationResults/{id}`:
    /// the result (`Location`).
    ReadOperationResult: Subscription, "Get a Network operation's result",
        ["Microsoft.Network/locations/operationResults/read"];
    /// `POST …/disconnectActiveSessions`.
    DisconnectActiveSessions: Host, "Disconnect active sessions",
        ["Microsoft.Network/bastionHosts/disconnectactivesessions/action"];
    /// `GET {resource}/providers/Microsoft.Insights/diagnosticSettings`.
    ListDiagnosticSettings: Host, "List diagnostic settings",
        ["Microsoft.Insights/diagnosticSettings/read"];
    /// `GET {account}/blobServices/default/providers/Microsoft.Insights/diagnosticSettings`.
    ListBlobDiagnosticSettings: Account, "List blob service diagnostic settings",
        ["Microsoft.Insights/diagnosticSettings/read"];
    /// `GET /subscriptions/{id}/providers/Microsoft.Insights/diagnosticSettings`: whether a watched
    /// subscription sends its Activity log to a workspace the app reads (other doors).
    ListSubscriptionDiagnosticSettings: Subscription, "List subscription diagnostic settings",
        ["Microsoft.Insights/diagnosticSettings/read"];
    /// `GET {account}/blobServices/default`.
    ReadBlobService: Account, "Get blob service properties",
        ["Microsoft.Storage/storageAccounts/blobServices/read"];
    /// `GET {account}/blobServices/default/containers/{name}`.
    ReadContainer: Account, "Get container properties",
        ["Microsoft.Storage/storageAccounts/blobServices/containers/read"];
    /// `GET {container}/providers/Microsoft.Authorization/roleAssignments`.
    ListRoleAssignments: Account, "List role assignments",
        ["Microsoft.Authorization/roleAssignments/read"];
    /// `GET {account}/providers/Microsoft.Authorization/roleDefinitions/{id}`.
    ReadRoleDefinition: Account, "Get role definition",
        ["Microsoft.Authorization/roleDefinitions/read"];
    /// `GET` a Log Analytics workspace (its customer id).
    ReadWorkspace: Workspace, "Get workspace", ["Microsoft.OperationalInsights/workspaces/read"];
    /// `GET {vm}/extensions/{name}`: whether a session's target VM signs RDP users in with Entra ID.
    ReadVmExtension: Vm, "Get VM extension", ["Microsoft.Compute/virtualMachines/extensions/read"];
    /// `GET {group or subscription}/providers/Microsoft.Network/networkInterfaces`: the watched
    /// VMs' NICs (other doors).
    ListNetworkInterfaces: Vm, "List network interfaces",
        ["Microsoft.Network/networkInterfaces/read"];
    /// `GET {group or subscription}/providers/Microsoft.Network/networkSecurityGroups`.
    ListSecurityGroups: Vm, "List network security groups",
        ["Microsoft.Network/networkSecurityGroups/read"];
    /// `GET {group or subscription}/providers/Microsoft.Network/virtualNetworks`: subnets' NSGs
    /// and prefixes (the Bastion subnet's too).
    ListVirtualNetworks: Vm, "List virtual networks", ["Microsoft.Network/virtualNetworks/read"];
    /// `GET {vm}`: the NICs of a watched VM whose NICs no list read (another resource group).
    ReadVirtualMachine: Vm, "Get virtual machine", ["Microsoft.Compute/virtualMachines/read"];
    /// `GET {nic}`: one such NIC.
    ReadNetworkInterface: Vm, "Get network interface", ["Microsoft.Network/networkInterfaces/read"];
    /// `GET {group}/providers/Microsoft.Security/locations/{region}/jitNetworkAccessPolicies/{name}`:
    /// a just-in-time policy's requests, when the Activity log's row names no source.
    ReadJitPolicy: Vm, "Get just-in-time network access policy",
        ["Microsoft.Security/locations/jitNetworkAccessPolicies/read"];
    /// `GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances`:
    /// the active role assignments (PIM activations among them) at, above and below the subscription.
    ListScheduleInstances: Subscription, "List role assignment schedule instances",
        ["Microsoft.Authorization/roleAssignmentScheduleInstances/read"];
    /// `GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests`:
    /// their requests (justification, ticket, approval).
    ListScheduleRequests: Subscription, "List role assignment schedule requests",
        ["Microsoft.Authorization/roleAssignmentScheduleRequests/read"];
    /// `GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines`: every VM of the
    /// subscription with its extensions (whether a shared account's VM signs people in with Entra ID).
    ListVirtualMachines: Subscription, "List virtual machines",
        ["Microsoft.Compute/virtualMachines/read"];
    /// `GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions`: the role
    /// definitions applicable there (whether a role held allows a Bastion connection).
    ListRoleDefinitions: Subscription, "List role definitions",
        ["Microsoft.Authorization/roleDefinitions/read"];
}

/// The kind of scope a grant must sit at (the resource the URL addresses, or above it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeKind {
    /// The Bastion host.
    Host,
    /// A recording storage account (or a container in it).
    Account,
    /// A Log Analytics workspace.
    Workspace,
    /// A virtual machine a session targets, or the resource group (or `BYPASS_SCOPES`
    /// subscription) it and its network lie in.
    Vm,
    /// The subscription itself: URLs under `/subscriptions/{sub}/providers/…`.
    Subscription,
}

impl ArmOperation {
    /// The kind of scope a grant for it must sit at.
    pub fn scope(self) -> ScopeKind {
        self.spec().1
    }

    /// The operation a request (`path` in any case) is, and the resource id of the scope it
    /// needs; `None` for a request this product never makes.
    pub fn of_request(method: &str, path: &str) -> Option<(Self, String)> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let is = |i: usize, s: &str| parts.get(i).is_some_and(|p| p.eq_ignore_ascii_case(s));
        let upto = |n: usize| format!("/{}", parts[..n.min(parts.len())].join("/"));
        let get = method.eq_ignore_ascii_case("GET");
        let post = method.eq_ignore_ascii_case("POST");
        if !is(0, "subscriptions") || parts.len() < 2 {
            return None;
        }
        // /subscriptions/{s}/providers/Microsoft.Network/locations/{r}/operations|operationResults/{id}
        if is(2, "providers") && is(3, "Microsoft.Network") && is(4, "locations") {
            let op = match parts.get(6) {
                Some(p) if p.eq_ignore_ascii_case("operations") => Self::ReadOperationStatus,
                Some(p) if p.eq_ignore_ascii_case("operationResults") => Self::ReadOperationResult,
                _ => return None,
            };
            return (get && parts.len() == 8).then(|| (op, upto(2)));
        }
        // {subscription or group}/providers/Microsoft.Network/{kind}: the network lists.
        let list = |at: usize| {
            let kind = parts.get(at + 2)?;
            let op = [
                ("networkInterfaces", Self::ListNetworkInterfaces),
                ("networkSecurityGroups", Self::ListSecurityGroups),
                ("virtualNetworks", Self::ListVirtualNetworks),
            ]
            .into_iter()
            .find(|(k, _)| kind.eq_ignore_ascii_case(k))?
            .1;
            (get && parts.len() == at + 3 && is(at, "providers") && is(at + 1, "Microsoft.Network"))
                .then(|| (op, upto(at)))
        };
        if parts.len() == 5 {
            // /subscriptions/{s}/providers/Microsoft.Insights/diagnosticSettings
            if get
                && is(2, "providers")
                && is(3, "Microsoft.Insights")
                && is(4, "diagnosticSettings")
            {
                return Some((Self::ListSubscriptionDiagnosticSettings, upto(2)));
            }
            // /subscriptions/{s}/providers/Microsoft.Authorization/roleAssignmentSchedule…
            if get && is(2, "providers") && is(3, "Microsoft.Authorization") {
                if is(4, "roleAssignmentScheduleInstances") {
                    return Some((Self::ListScheduleInstances, upto(2)));
                }
                if is(4, "roleAssignmentScheduleRequests") {
                    return Some((Self::ListScheduleRequests, upto(2)));
                }
                if is(4, "roleDefinitions") {
                    return Some((Self::ListRoleDefinitions, upto(2)));
                }
            }
            // /subscriptions/{s}/providers/Microsoft.Compute/virtualMachines
            if get && is(2, "providers") && is(3, "Microsoft.Compute") && is(4, "virtualMachines") {
                return Some((Self::ListVirtualMachines, upto(2)));
            }
            return list(2);
        }
        if parts.len() == 7 && is(2, "resourceGroups") {
            return list(4);
        }
        if !is(2, "resourceGroups") || !is(4, "providers") || parts.len() < 8 {
            return None;
        }
        let (ns, ty) = (parts[5], parts[6]);
        let resource = upto(8);
        let rest: Vec<&str> = parts[8..].to_vec();
        // The segments after the resource, against a `/`-separated pattern (`*`: any one).
        let rest_is = |want: &str| {
            rest.len() == want.split('/').count()
                && (rest.iter().zip(want.split('/')))
                    .all(|(a, b)| b == "*" || a.eq_ignore_ascii_case(b))
        };
        let of = |n: &str, t: &str| ns.eq_ignore_ascii_case(n) && ty.eq_ignore_ascii_case(t);
        let op = if of("Microsoft.Network", "bastionHosts") {
            match () {
                () if get && rest.is_empty() => Self::ReadBastionHost,
                () if post && rest_is("getActiveSessions") => Self::GetActiveSessions,
                () if get
                    && (rest_is("getActiveSessions/operationResults/*")
                        || rest_is("getActiveSessions")) =>
                {
                    Self::ReadHostOperation
                }
                () if post && rest_is("disconnectActiveSessions") => Self::DisconnectActiveSessions,
                () if get && rest_is("providers/Microsoft.Insights/diagnosticSettings") => {
                    Self::ListDiagnosticSettings
                }
                () => return None,
            }
        } else if of("Microsoft.Storage", "storageAccounts") && get {
            let blobs = "blobServices/default";
            let diagnostics =
                "blobServices/default/providers/Microsoft.Insights/diagnosticSettings";
            let container = "blobServices/default/containers/*";
            let assignments = "blobServices/default/containers/*/providers/Microsoft.Authorization/roleAssignments";
            match () {
                () if rest_is(blobs) => Self::ReadBlobService,
                () if rest_is(diagnostics) => Self::ListBlobDiagnosticSettings,
                () if rest_is(container) => Self::ReadContainer,
                () if rest_is(assignments) => Self::ListRoleAssignments,
                () if rest_is("providers/Microsoft.Authorization/roleDefinitions/*") => {
                    Self::ReadRoleDefinition
                }
                () => return None,
            }
        } else if of("Microsoft.OperationalInsights", "workspaces") && get && rest.is_empty() {
            Self::ReadWorkspace
        } else if of("Microsoft.Compute", "virtualMachines") && get && rest_is("extensions/*") {
            Self::ReadVmExtension
        } else if of("Microsoft.Compute", "virtualMachines") && get && rest.is_empty() {
            Self::ReadVirtualMachine
        } else if of("Microsoft.Network", "networkInterfaces") && get && rest.is_empty() {
            Self::ReadNetworkInterface
        } else if of("Microsoft.Security", "locations")
            && get
            && rest_is("jitNetworkAccessPolicies/*")
        {
            return Some((Self::ReadJitPolicy, upto(10)));
        } else {
            return None;
        };
        Some((op, resource))
    }

    /// What a 403 on a call of this operation at `scope` tells the operator to grant.
    pub fn missing(self, scope: &str) -> String {
        let action = self.spec().2[0];
        if matches!(
            self,
            Self::ListScheduleInstances
                | Self::ListScheduleRequests
                | Self::ListVirtualMachines
                | Self::ListRoleDefinitions
        ) {
            return format!("Reader at subscription scope ({scope}), or {action} there");
        }
        if self == Self::ListSubscriptionDiagnosticSettings {
            return format!(
                "Monitoring Reader or Reader at subscription scope ({scope}), or {action} there"
            );
        }
        match self.scope() {
            ScopeKind::Subscription => format!(
                "{action} at subscription scope ({scope}): the operation's status and result \
                 URLs lie above every resource group, so a role on the host cannot grant it"
            ),
            _ => format!("{action} on {scope}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b1";
    const ACCOUNT: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a";

    #[test]
    fn every_url_the_client_calls_is_one_operation_at_its_scope() {
        let cases = [
            ("GET", HOST.to_owned(), ArmOperation::ReadBastionHost, HOST),
            (
                "POST",
                format!("{HOST}/getActiveSessions"),
                ArmOperation::GetActiveSessions,
                HOST,
            ),
            (
                "GET",
                format!("{HOST}/getActiveSessions/operationResults/op-1"),
                ArmOperation::ReadHostOperation,
                HOST,
            ),
            (
                "get",
                "/subscriptions/s1/providers/Microsoft.Network/locations/westeurope/operations/op-1"
                    .to_owned(),
                ArmOperation::ReadOperationStatus,
                "/subscriptions/s1",
            ),
            (
                "GET",
                "/SUBSCRIPTIONS/s1/providers/microsoft.network/locations/westeurope/operationResults/op-1"
                    .to_owned(),
                ArmOperation::ReadOperationResult,
                "/SUBSCRIPTIONS/s1",
            ),
            (
                "POST",
                format!("{HOST}/disconnectActiveSessions"),
                ArmOperation::DisconnectActiveSessions,
                HOST,
            ),
            (
                "GET",
                format!("{HOST}/providers/Microsoft.Insights/diagnosticSettings"),
                ArmOperation::ListDiagnosticSettings,
                HOST,
            ),
            (
                "GET",
                "/subscriptions/s1/providers/Microsoft.Insights/diagnosticSettings".to_owned(),
                ArmOperation::ListSubscriptionDiagnosticSettings,
                "/subscriptions/s1",
            ),
            (
                "GET",
                format!("{ACCOUNT}/blobServices/default"),
                ArmOperation::ReadBlobService,
                ACCOUNT,
            ),
            (
                "GET",
                format!("{ACCOUNT}/blobServices/default/providers/Microsoft.Insights/diagnosticSettings"),
                ArmOperation::ListBlobDiagnosticSettings,
                ACCOUNT,
            ),
            (
                "GET",
                format!("{ACCOUNT}/blobServices/default/containers/rec"),
                ArmOperation::ReadContainer,
                ACCOUNT,
            ),
            (
                "GET",
                format!(
                    "{ACCOUNT}/blobServices/default/containers/rec/providers/Microsoft.Authorization/roleAssignments"
                ),
                ArmOperation::ListRoleAssignments,
                ACCOUNT,
            ),
            (
                "GET",
                format!("{ACCOUNT}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4"),
                ArmOperation::ReadRoleDefinition,
                ACCOUNT,
            ),
            (
                "GET",
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces"
                    .to_owned(),
                ArmOperation::ListNetworkInterfaces,
                "/subscriptions/s1/resourceGroups/rg",
            ),
            (
                "GET",
                "/subscriptions/s1/resourceGroups/rg/providers/microsoft.network/NETWORKSECURITYGROUPS"
                    .to_owned(),
                ArmOperation::ListSecurityGroups,
                "/subscriptions/s1/resourceGroups/rg",
            ),
            (
                "GET",
                "/subscriptions/s1/providers/Microsoft.Network/virtualNetworks".to_owned(),
                ArmOperation::ListVirtualNetworks,
                "/subscriptions/s1",
            ),
            (
                "GET",
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
                    .to_owned(),
                ArmOperation::ReadVirtualMachine,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
            ),
            (
                "GET",
                "/subscriptions/s1/resourceGroups/rg-net/providers/Microsoft.Network/networkInterfaces/nic1"
                    .to_owned(),
                ArmOperation::ReadNetworkInterface,
                "/subscriptions/s1/resourceGroups/rg-net/providers/Microsoft.Network/networkInterfaces/nic1",
            ),
            (
                "GET",
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default"
                    .to_owned(),
                ArmOperation::ReadJitPolicy,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default",
            ),
        ];
        let cases = cases.into_iter().chain([
            (
                "GET",
                "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignmentScheduleInstances"
                    .to_owned(),
                ArmOperation::ListScheduleInstances,
                "/subscriptions/s1",
            ),
            (
                "GET",
                "/subscriptions/s1/providers/microsoft.authorization/ROLEASSIGNMENTSCHEDULEREQUESTS"
                    .to_owned(),
                ArmOperation::ListScheduleRequests,
                "/subscriptions/s1",
            ),
            (
                "GET",
                "/subscriptions/s1/providers/Microsoft.Compute/virtualMachines".to_owned(),
                ArmOperation::ListVirtualMachines,
                "/subscriptions/s1",
            ),
            (
                "GET",
                "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions".to_owned(),
                ArmOperation::ListRoleDefinitions,
                "/subscriptions/s1",
            ),
        ]);
        for (method, path, op, scope) in cases {
            assert_eq!(
                ArmOperation::of_request(method, &path),
                Some((op, scope.to_owned())),
                "{method} {path}"
            );
        }
        for (method, path) in [
            ("DELETE", HOST.to_owned()),
            ("GET", format!("{HOST}/getShareableLinks")),
            (
                "GET",
                "/subscriptions/s1/providers/Microsoft.Storage/storageAccounts".to_owned(),
            ),
            (
                "GET",
                "/subscriptions/s1/providers/Microsoft.Network/locations/weu/usages".to_owned(),
            ),
            (
                "POST",
                "/subscriptions/s1/providers/Microsoft.Network/virtualNetworks".to_owned(),
            ),
            (
                "GET",
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses"
                    .to_owned(),
            ),
        ] {
            assert_eq!(
                ArmOperation::of_request(method, &path),
                None,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn a_missing_subscription_grant_says_why_the_host_cannot_carry_it() {
        let text = ArmOperation::ReadOperationResult.missing("/subscriptions/s1");
        assert!(
            text.starts_with("Microsoft.Network/locations/operationResults/read at subscription scope (/subscriptions/s1)"),
            "{text}"
        );
        assert!(
            text.contains("a role on the host cannot grant it"),
            "{text}"
        );
    }
}

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
        ROUTES.iter().find_map(|&(op, route)| {
            let (verb, route) = route.split_once(" {")?;
            let (scope, rest) = route.split_once('}')?;
            let scope = scope_pattern(scope)?;
            let want: Vec<&str> = (scope.split('/'))
                .chain(rest.split('/').filter(|s| !s.is_empty()))
                .collect();
            let fits = verb.eq_ignore_ascii_case(method)
                && want.len() == parts.len()
                && (want.iter().zip(&parts)).all(|(w, p)| *w == "*" || w.eq_ignore_ascii_case(p));
            let n = scope.split('/').count();
            fits.then(|| (op, format!("/{}", parts[..n].join("/"))))
        })
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

/// The route table: one `Operation: "METHOD {scope}/rest";` a row.
macro_rules! routes {
    ($($op:ident: $route:literal;)+) => {
        [$((ArmOperation::$op, $route)),+]
    };
}

/// Every request this product makes, as [`ArmOperation::of_request`] reads it: the method, then
/// the scope named as in [`scope_pattern`] (the resource id returned) and the path below it; `*` is
/// any one segment, and case does not count.
const ROUTES: [(ArmOperation, &str); 29] = routes! {
    ReadOperationStatus: "GET {sub}/providers/Microsoft.Network/locations/*/operations/*";
    ReadOperationResult: "GET {sub}/providers/Microsoft.Network/locations/*/operationResults/*";
    ListSubscriptionDiagnosticSettings: "GET {sub}/providers/Microsoft.Insights/diagnosticSettings";
    ListScheduleInstances: "GET {sub}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances";
    ListScheduleRequests: "GET {sub}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests";
    ListRoleDefinitions: "GET {sub}/providers/Microsoft.Authorization/roleDefinitions";
    ListVirtualMachines: "GET {sub}/providers/Microsoft.Compute/virtualMachines";
    ListNetworkInterfaces: "GET {sub}/providers/Microsoft.Network/networkInterfaces";
    ListSecurityGroups: "GET {sub}/providers/Microsoft.Network/networkSecurityGroups";
    ListVirtualNetworks: "GET {sub}/providers/Microsoft.Network/virtualNetworks";
    ListNetworkInterfaces: "GET {group}/providers/Microsoft.Network/networkInterfaces";
    ListSecurityGroups: "GET {group}/providers/Microsoft.Network/networkSecurityGroups";
    ListVirtualNetworks: "GET {group}/providers/Microsoft.Network/virtualNetworks";
    ReadBastionHost: "GET {host}";
    GetActiveSessions: "POST {host}/getActiveSessions";
    ReadHostOperation: "GET {host}/getActiveSessions/operationResults/*";
    ReadHostOperation: "GET {host}/getActiveSessions";
    DisconnectActiveSessions: "POST {host}/disconnectActiveSessions";
    ListDiagnosticSettings: "GET {host}/providers/Microsoft.Insights/diagnosticSettings";
    ReadBlobService: "GET {account}/blobServices/default";
    ListBlobDiagnosticSettings: "GET {account}/blobServices/default/providers/Microsoft.Insights/diagnosticSettings";
    ReadContainer: "GET {account}/blobServices/default/containers/*";
    ListRoleAssignments: "GET {account}/blobServices/default/containers/*/providers/Microsoft.Authorization/roleAssignments";
    ReadRoleDefinition: "GET {account}/providers/Microsoft.Authorization/roleDefinitions/*";
    ReadWorkspace: "GET {workspace}";
    ReadVmExtension: "GET {vm}/extensions/*";
    ReadVirtualMachine: "GET {vm}";
    ReadNetworkInterface: "GET {nic}";
    ReadJitPolicy: "GET {jit}";
};

/// The resource id pattern of a scope a route names (`*`: any one segment).
fn scope_pattern(name: &str) -> Option<String> {
    let resource = |kind: &str| format!("subscriptions/*/resourceGroups/*/providers/{kind}/*");
    Some(match name {
        "sub" => "subscriptions/*".to_owned(),
        "group" => "subscriptions/*/resourceGroups/*".to_owned(),
        "host" => resource("Microsoft.Network/bastionHosts"),
        "account" => resource("Microsoft.Storage/storageAccounts"),
        "workspace" => resource("Microsoft.OperationalInsights/workspaces"),
        "vm" => resource("Microsoft.Compute/virtualMachines"),
        "nic" => resource("Microsoft.Network/networkInterfaces"),
        "jit" => resource("Microsoft.Security/locations/*/jitNetworkAccessPolicies"),
        _ => return None,
    })
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

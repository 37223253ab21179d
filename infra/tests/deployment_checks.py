"""check_bicep.py's checks of what a first deployment needs (Flex site settings, zone redundancy's cost,
GA api-versions, diagnostic settings, the lifecycle policy on zone-redundant accounts)."""

import json
import re


def register(check, main, text, infra):
    """Adds these checks to check_bicep's report."""
    example_checks(check, infra)

    @check("authzEnforce disconnect without bastionDisconnect fails the deployment (and no params file asks it)")
    def _():
        m = text[infra / "main.bicep"]
        assert "    authzEnforce: authzEnforceChecked\n" in m, "the app module gets the checked value"
        var = re.search(r"^var authzEnforceChecked = (.+) \? \[authzEnforce\]\[indexOf\(\[authzEnforce\], '[^']+'\)\] : authzEnforce$", m, re.M)
        assert var, "authzEnforceChecked: cond ? [authzEnforce][indexOf([authzEnforce], 'why')] : authzEnforce"
        # The condition, in Python: Bicep's &&, || and ! on the two parameters.
        cond = var.group(1).replace("&&", " and ").replace("||", " or ").replace("!", " not ")
        assert re.fullmatch(r"[\w\s'=()]+", cond), f"only the two parameters: {cond}"
        allowed = main["parameters"]["authzEnforce"]["decorators"]
        values = next(d["argument"] for d in allowed if d.get("type") == "allowed")
        for enforce in values:
            for disconnect in (False, True):
                fails = eval(cond, {}, {"authzEnforce": enforce, "bastionDisconnect": disconnect})  # noqa: S307 - the two names only
                assert fails == (enforce == "disconnect" and not disconnect), (enforce, disconnect, fails)
        for f in sorted(infra.glob("params/*.bicepparam")):
            given = f.read_text()
            if re.search(r"^param authzEnforce = 'disconnect'", given, re.M):
                assert re.search(r"^param bastionDisconnect = true", given, re.M), f"{f.name}: disconnect without bastionDisconnect"

    @check("Flex Consumption site: no ftpsState (rejected there), FTP and SCM basic publishing credentials off")
    def _():
        app = text[infra / "modules/functionapp.bicep"]
        code = re.sub(r"//.*", "", app)
        assert "ftpsState" not in code, "Flex Consumption rejects siteConfig.ftpsState"
        for name in ("ftp", "scm"):
            block = re.search(r"resource \w+ 'Microsoft\.Web/sites/basicPublishingCredentialsPolicies@[\w-]+' = \{[^}]*name: '%s'[^}]*\}" % name, code)
            assert block and "allow: false" in block.group(0), f"basicPublishingCredentialsPolicies/{name} with allow: false"

    @check("zone redundancy: off by default, and a params file turning it on states the always-ready cost beside it")
    def _():
        assert main["parameters"]["zoneRedundant"]["default"] is False
        for f in sorted(infra.glob("params/*.bicepparam")):
            lines = f.read_text().splitlines()
            for i, line in enumerate(lines):
                if re.match(r"^param zoneRedundant = true", line):
                    above = " ".join(lines[max(0, i - 4):i])
                    assert "always-ready" in above and "docs/cost.md" in above, f"{f.name}: zoneRedundant = true without its cost"

    @check("api-versions: GA everywhere but diagnosticSettings (named settings exist only in preview versions)")
    def _():
        bad = []
        for path, source in text.items():
            for m in re.finditer(r"'([\w./]+)@([\w-]+)'", re.sub(r"//.*", "", source)):
                if m.group(2).endswith("-preview") and m.group(1) != "Microsoft.Insights/diagnosticSettings":
                    bad.append(f"{path.name}: {m.group(1)}@{m.group(2)}")
        assert not bad, bad

    @check("diagnostic settings: a host listed twice fails the template; the account must share the host's region")
    def _():
        main = text[infra / "main.bicep"]
        assert "for (d, i) in diagnosticsChecked:" in main
        assert "length(union(diagnosticHosts, [])) == length(diagnosticHosts) ? diagnostics :" in main
        diag = text[infra / "modules/bastion-diagnostics.bicep"]
        assert "storageAccountId: sameRegion ? auditLogsAccount.id :" in diag
        # The same refusal for the params files, before any deployment.
        for f in sorted(infra.glob("params/*.bicepparam")):
            hosts = re.findall(r"bastionName: '([^']+)'\s+(?:subscriptionId: '([^']*)'\s+)?resourceGroup: '([^']+)'\s+auditLogsAccountName",
                               f.read_text())
            keys = [tuple(x.lower() for x in h) for h in hosts]
            assert len(keys) == len(set(keys)), f"{f.name}: a Bastion host twice in bastionDiagnostics"

    @check("lifecycle policy on zone-redundant accounts: the same rules without tierToArchive, every other action kept")
    def _():
        rec = text[infra / "modules/recordings-access.bicep"]
        assert "policy: contains(zoneRedundantSkus, account[i].sku.name) ? policyWithoutArchive : policy" in rec
        for sku in ("Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS", "Premium_ZRS"):
            assert f"'{sku}'" in rec, sku
        kept = set(re.findall(r"contains\(r\.definition\.actions\.baseBlob, '(\w+)'\)", rec))
        policy = json.loads((infra / "lifecycle-policy.json").read_text())
        written = {a for r in policy["rules"] for a in r["definition"]["actions"]["baseBlob"]}
        assert written - {"tierToArchive"} <= kept, f"actions the archive-free copy would drop: {sorted(written - {'tierToArchive'} - kept)}"

    @check("custom role names are unique per tenant: every one carries its subscription id")
    def _():
        bad = []
        for path, source in text.items():
            code = re.sub(r"//.*", "", source)
            for block in code.split("resource ")[1:]:
                if "'Microsoft.Authorization/roleDefinitions@" not in block.split("\n")[0]:
                    continue
                name = re.search(r"roleName: (.+)", block).group(1).strip()
                if name.startswith("'"):
                    literal = name
                else:  # a var: its definition
                    literal = re.search(r"var %s = (.+)" % re.escape(name), code).group(1)
                if "${subscription().subscriptionId}" not in literal or "?" in literal:
                    bad.append(f"{path.name}: {literal}")
        assert not bad, bad

    @check("workspace diagnostics: a host by name or resource id, at most once; no key asked before it exists")
    def _():
        main = text[infra / "main.bicep"]
        assert "bastionName: last(split(w.bastionName, '/'))" in main
        assert "startsWith(w.bastionName, '/') ? split(w.bastionName, '/')[2]" in main
        assert "startsWith(w.bastionName, '/') ? split(w.bastionName, '/')[4]" in main
        assert "for (d, i) in workspaceDiagnosticsChecked:" in main
        assert "length(union(workspaceDiagnosticsHosts, [])) == length(workspaceDiagnosticsHosts) ? workspaceDiagnosticsList :" in main
        assert main_params(main)["deployEventSubscriptions"] == "false", "the template never asks for the key unless told it exists"

    @check("app account redundancy is a parameter (GZRS only where the region has zones; the preflight checks it)")
    def _():
        storage = text[infra / "modules/storage.bicep"]
        assert "name: skuName" in storage and "'Standard_GZRS'" not in storage.split("param skuName")[1].split("resource ")[1]
        assert main_params(text[infra / "main.bicep"])["appStorageSku"] == "'Standard_GZRS'"
        assert "skuName: appStorageSku" in text[infra / "main.bicep"]
        assert "check_app_storage_sku" in (infra / "preflight.py").read_text()

    @check("the Network operation reads: at subscription scope, one per subscription of the watched hosts, none without hosts")
    def _():
        ops = text[infra / "modules/bastion-operations-access.bicep"]
        assert "targetScope = 'subscription'" in ops
        assert "'Microsoft.Network/locations/operations/read'" in ops and "'Microsoft.Network/locations/operationResults/read'" in ops
        main = text[infra / "main.bicep"]
        assert "var bastionHostSubscriptions = [for id in watchedHosts: toLower(split(id, '/')[2])]" in main
        assert "var bastionSubscriptions = union(bastionHostSubscriptions, bastionHostSubscriptions)" in main
        assert "for (sub, i) in bastionSubscriptions:" in main and "scope: subscription(sub)" in main
        host = text[infra / "modules/bastion-access.bicep"]
        assert "locations/operation" not in re.sub(r"//.*", "", host), "a role on the host cannot carry it"

    @check("the other-doors network reads: at subscription scope for each BYPASS_SCOPES subscription, once each; the groups through the session targets' role")
    def _():
        mod = text[infra / "modules/bypass-scopes-access.bicep"]
        assert "targetScope = 'subscription'" in mod
        for a in ("networkInterfaces", "networkSecurityGroups", "virtualNetworks"):
            assert f"'Microsoft.Network/{a}/read'" in mod, a
        assert "'Microsoft.Security/locations/jitNetworkAccessPolicies/read'" in mod, "the just-in-time policy read"
        assert "'Microsoft.Compute/virtualMachines/read'" in mod, "a watched VM moved into the subscription"
        actions = re.search(r"var actions = \[(.*?)\]", mod, re.S).group(1)
        assert len(re.findall(r"'[^']+'", actions)) == 5, "those five reads and nothing else"
        main = text[infra / "main.bicep"]
        assert "filter(bypassScopes, s => length(split(s, '/')) == 3): toLower(split(s, '/')[2])]" in main
        assert "var bypassSubscriptions = union(bypassSubscriptionIds, bypassSubscriptionIds)" in main
        assert "for (sub, i) in bypassSubscriptions:" in main
        assert "for (g, i) in union(bastionSessionTargetGroups, bypassGroups):" in main


    @check("the Activity log settings, PIM schedule, VM list and role definition reads: at subscription scope, for each subscription of the session targets' groups and BYPASS_SCOPES, once each")
    def _():
        mod = text[infra / "modules/activity-log-settings-access.bicep"]
        assert "targetScope = 'subscription'" in mod
        assert re.findall(r"^  '([^']+)'$", mod, re.M) == [
            "Microsoft.Insights/diagnosticSettings/read",
            "Microsoft.Authorization/roleAssignmentScheduleInstances/read",
            "Microsoft.Authorization/roleAssignmentScheduleRequests/read",
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Authorization/roleDefinitions/read",
        ]
        main = text[infra / "main.bicep"]
        assert "var activityLogSubscriptions = union(bypassSubscriptions, targetGroupSubscriptions)" in main
        assert "for (sub, i) in activityLogSubscriptions:" in main

    @check("the app account (catalogue, evidence) carries a CanNotDelete lock; the preflight asks for the right to write it")
    def _():
        # Resource Manager locks (Microsoft.Authorization/locks@2020-05-01, GA) apply to the resource and its
        # children; CanNotDelete refuses deletes through Resource Manager, data-plane access unaffected.
        st = text[infra / "modules/storage.bicep"]
        block = st[st.index("resource keep 'Microsoft.Authorization/locks@2020-05-01' = {"):]
        block = block[:block.index("\n}\n")]
        assert "scope: account" in block and "level: 'CanNotDelete'" in block, block
        pre = (infra / "preflight.py").read_text()
        assert 'LOCK = "Microsoft.Authorization/locks/write"' in pre and "need(group(sub, rg), ASSIGN, LOCK)" in pre


def example_checks(check, infra):
    """The shipped examples of the optional exports."""

    @check("examples: params/sentinel.bicepparam turns Sentinel on, params/custody.bicepparam the custody workspace and its setting")
    def _():
        s = (infra / "params/sentinel.bicepparam").read_text()
        assert re.search(r"^param sentinelWorkspaceId = '/subscriptions/", s, re.M), "sentinel.bicepparam sets sentinelWorkspaceId"
        c = (infra / "params/custody.bicepparam").read_text()
        assert re.search(r"^param custodyWorkspace = \{\n\s+resourceId: '/subscriptions/[^']+/workspaces/[^']+'\n\s+customerId: '[0-9a-f-]{36}'", c, re.M), \
            "custody.bicepparam sets custodyWorkspace {resourceId, customerId}"
        assert re.search(r"^param custodyDiagnostics = true", c, re.M), "custody.bicepparam adds the diagnostic setting"


def main_params(main):
    """`param name type = default` of main.bicep: name -> default text."""
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^param (\w+) \w+ = (.+)$", main, re.M)}

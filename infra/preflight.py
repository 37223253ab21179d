"""Read-only checks of what a deployment of infra/main.bicep depends on (run by infra/preflight.sh).

Every fact comes from a read-only `az` query (show, list, build-params, GET); nothing is changed.
Prints one table (check, target, result, detail) and exits 1 when a finding blocks the deployment,
2 on a usage error. Results: ok, WARN (deploys, but read the detail), BLOCK (would fail or misbehave).
"""

import fnmatch
import json
import os
import re
import subprocess
import sys

import preflight_existing
import preflight_stack

SETTING_NAME = "archive-bastion-audit-logs"  # the name main.bicep gives its archive settings
WORKSPACE_SETTING_NAME = "send-bastion-audit-logs-to-workspace"  # and its workspace settings
ARM = "https://management.azure.com"
ZONE_REDUNDANT_SKUS = {"standard_zrs", "standard_gzrs", "standard_ragzrs", "premium_zrs"}
ROWS = []


# Parameters an earlier main.bicep took (the single-source form) and what replaced each: `az bicep
# build-params` refuses a file assigning a parameter the template does not declare, without a hint.
REMOVED_PARAMETERS = {
    **dict.fromkeys(["recordingsAccountName", "recordingsResourceGroup", "recordingsContainer", "recordingsSystemTopicName"],
                    "recordingSources (a list of {accountName, subscriptionId?, resourceGroup?, container?, bastionName?, systemTopicName?})"),
    **dict.fromkeys(["auditLogsAccountName", "auditLogsResourceGroup", "auditLogsContainer", "auditLogsSystemTopicName"],
                    "auditLogSources (a list of {accountName, subscriptionId?, resourceGroup?, container?, systemTopicName?})"),
    **dict.fromkeys(["bastionName", "bastionResourceGroup"],
                    "bastionDiagnostics (a list of {bastionName, subscriptionId?, resourceGroup?, auditLogsAccountName?})"),
}


def removed_parameters(params_file):
    """One sentence per parameter of `params_file` that main.bicep no longer takes."""
    try:
        text = open(params_file, encoding="utf-8").read()
    except OSError:
        return []
    if params_file.endswith(".json"):
        try:
            names = list(json.loads(text).get("parameters", {}))
        except (ValueError, AttributeError):
            return []
    else:
        names = re.findall(r"^\s*param\s+(\w+)\s*=", text, re.M)
    return [f"{params_file}: parameter {n} was removed; give it as {REMOVED_PARAMETERS[n]} instead "
            "(infra/README.md, Upgrading)" for n in names if n in REMOVED_PARAMETERS]


class AzError(Exception):
    pass


def az(*args):
    """Runs a read-only az command and returns its JSON output."""
    proc = subprocess.run(["az", *args, "-o", "json"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [x for x in proc.stderr.strip().splitlines() if x.strip()]
        raise AzError(lines[-1] if lines else f"az {' '.join(args[:3])} failed")
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def row(check, target, result, detail=""):
    ROWS.append((check, target, result, detail))


def parameters(params_file):
    built = az("bicep", "build-params", "--file", params_file, "--stdout")
    doc = json.loads(built["parametersJson"])
    return {k: v.get("value") for k, v in doc.get("parameters", {}).items()}


def host_ref(name, sub, rg):
    """A Bastion host given by name (in `sub`/`rg`) or by resource id (which carries both)."""
    parts = (name or "").strip("/").split("/")
    if (name or "").startswith("/") and len(parts) >= 8 and parts[0].lower() == "subscriptions":
        return {"bastion": parts[-1], "sub": parts[1], "rg": parts[3]}
    return {"bastion": name, "sub": sub, "rg": rg}


def sources(p, sub, rg):
    """The recording and audit-log sources and the diagnostic settings, defaults as main.bicep applies them."""
    def norm(s, container, topic=""):
        return {
            "account": s["accountName"], "sub": s.get("subscriptionId") or sub,
            "rg": s.get("resourceGroup") or rg, "container": s.get("container") or container,
            "bastion": s.get("bastionName") or "", "topic": s.get("systemTopicName") or topic,
        }
    recs = [norm(s, "recordings") for s in p.get("recordingSources") or []]
    logs = [norm(s, "insights-logs-bastionauditlogs") for s in p.get("auditLogSources") or []]
    diags = p.get("bastionDiagnostics") or []
    out = []
    for d in diags:
        name = (d.get("auditLogsAccountName") or logs[0]["account"]).lower()
        log = next((s for s in logs if s["account"].lower() == name), None)
        out.append({**host_ref(d["bastionName"], d.get("subscriptionId") or sub, d.get("resourceGroup") or rg),
                    "logs": log, "logsName": name})
    return recs, logs, out


def workspace_sinks(p, sub, rg):
    """The workspaces read (resource id parts) and the hosts whose diagnostic setting this template adds."""
    spaces, diags = [], []
    for w in p.get("logAnalyticsWorkspaces") or []:
        parts = (w.get("resourceId") or "").strip("/").split("/")
        ws = {"id": w.get("resourceId") or "", "sub": parts[1] if len(parts) > 3 else sub,
              "rg": parts[3] if len(parts) > 3 else rg}
        spaces.append(ws)
        if w.get("diagnostics") and w.get("bastionName"):
            host = host_ref(w["bastionName"], w.get("bastionSubscriptionId") or sub, w.get("bastionResourceGroup") or rg)
            diags.append({**host, "workspace": ws})
    return spaces, diags


def watched_hosts(p, recs):
    """The hosts the estate checks are granted on, as main.bicep derives them: `bastionHosts`, or else the
    recording sources naming their host by resource id."""
    ids = p.get("bastionHosts") or [s["bastion"] for s in recs if s["bastion"].lower().startswith("/subscriptions/")]
    return [host_ref(h, "", "") for h in dict.fromkeys(ids)]


def account_id(s):
    return f"/subscriptions/{s['sub']}/resourceGroups/{s['rg']}/providers/Microsoft.Storage/storageAccounts/{s['account']}"


def bastion_id(d):
    return f"/subscriptions/{d['sub']}/resourceGroups/{d['rg']}/providers/Microsoft.Network/bastionHosts/{d['bastion']}"


def show_account(s, cache={}):  # noqa: B006 - one query per account
    key = account_id(s).lower()
    if key not in cache:
        cache[key] = az("storage", "account", "show", "--subscription", s["sub"], "-g", s["rg"], "-n", s["account"])
    return cache[key]


def show_bastion(h, cache={}):  # noqa: B006
    key = bastion_id(h).lower()
    if key not in cache:
        cache[key] = az("network", "bastion", "show", "--subscription", h["sub"], "-g", h["rg"], "-n", h["bastion"])
    return cache[key]


def check_bastions(recs, diags, extra):
    """Every Bastion host the deployment names (by name or resource id, in any resource group)."""
    hosts = {bastion_id(h).lower(): h for h in list(diags) + list(extra)}
    for s in recs:
        if s["bastion"]:
            h = host_ref(s["bastion"], s["sub"], s["rg"])
            hosts.setdefault(bastion_id(h).lower(), h)
    for h in hosts.values():
        try:
            b = show_bastion(h)
        except AzError as e:
            row("Bastion Premium, recording on", h["bastion"], "BLOCK", str(e))
            continue
        sku = (b.get("sku") or {}).get("name", "")
        recording = b.get("enableSessionRecording", (b.get("properties") or {}).get("enableSessionRecording"))
        if sku != "Premium" or recording is not True:
            row("Bastion Premium, recording on", h["bastion"], "BLOCK",
                f"sku {sku or '?'}, session recording {'on' if recording else 'off'}: session recording needs the Premium SKU with recording enabled")
        else:
            row("Bastion Premium, recording on", h["bastion"], "ok", f"Premium, {b.get('location', '')}")


def sends_audit_logs(setting):
    return any(log.get("enabled") and (log.get("category") == "BastionAuditLogs"
                                       or (log.get("categoryGroup") or "").lower() in ("alllogs", "audit"))
               for log in setting.get("logs") or [])


def settings_of(host):
    found = az("monitor", "diagnostic-settings", "list", "--resource", bastion_id(host))
    return found.get("value", []) if isinstance(found, dict) else (found or [])


def check_workspace_diagnostics(diags):
    """A workspace sink may carry BastionAuditLogs once: no other setting to the same workspace."""
    seen = set()
    for d in diags:
        target = f"{d['bastion']} -> workspace {d['workspace']['id'].rsplit('/', 1)[-1]}"
        key = bastion_id(d).lower()
        if key in seen:
            row("no other setting on the same sink", target, "BLOCK",
                "the host is listed twice with diagnostics in logAnalyticsWorkspaces: the template gives it one workspace setting")
            continue
        seen.add(key)
        try:
            settings = settings_of(d)
        except AzError as e:
            row("no other setting on the same sink", target, "BLOCK", str(e))
            continue
        clash = [s["name"] for s in settings if s.get("name") != WORKSPACE_SETTING_NAME and sends_audit_logs(s)
                 and (s.get("workspaceId") or "").lower() == d["workspace"]["id"].lower()]
        if clash:
            row("no other setting on the same sink", target, "BLOCK",
                f"setting {', '.join(clash)} already sends BastionAuditLogs to this workspace (Azure refuses a sink reused for one category): "
                "drop `diagnostics: true` for this host and keep that setting (in resource-specific mode)")
        else:
            row("no other setting on the same sink", target, "ok")


def check_diagnostics(diags):
    seen = set()
    for d in diags:
        target = f"{d['bastion']} -> {d['logsName']}"
        key = bastion_id(d).lower()
        if key in seen:
            row("one archive setting per host", target, "BLOCK",
                "the host is listed twice in bastionDiagnostics: Azure refuses a second setting sending BastionAuditLogs to the same account")
            continue
        seen.add(key)
        if d["logs"] is None:
            row("audit-log account in host's region", target, "BLOCK", "the account is not one of the audit-log sources")
            continue
        try:
            host, acct = show_bastion(d), show_account(d["logs"])
        except AzError as e:
            row("audit-log account in host's region", target, "BLOCK", str(e))
            continue
        if host.get("location", "").lower() != acct.get("location", "").lower():
            row("audit-log account in host's region", target, "BLOCK",
                f"host in {host.get('location')}, account in {acct.get('location')}: diagnostic settings archive only to a storage account in the resource's region")
        else:
            row("audit-log account in host's region", target, "ok", host.get("location", ""))
        try:
            settings = settings_of(d)
        except AzError as e:
            row("no other setting on the same sink", target, "BLOCK", str(e))
            continue
        clash = [
            s["name"] for s in settings
            if s.get("name") != SETTING_NAME
            and (s.get("storageAccountId") or "").lower() == account_id(d["logs"]).lower()
            and sends_audit_logs(s)
        ]
        if clash:
            row("no other setting on the same sink", target, "BLOCK",
                f"setting {', '.join(clash)} already archives BastionAuditLogs to this account (Azure refuses a sink reused for one category): "
                "leave bastionName empty / drop the host from bastionDiagnostics, and keep that setting")
        else:
            row("no other setting on the same sink", target, "ok")


def check_accounts(recs, logs, apply_lifecycle):
    for s, kind in [(s, "recordings") for s in recs] + [(s, "audit logs") for s in logs]:
        try:
            a = show_account(s)
        except AzError as e:
            row("source account", s["account"], "BLOCK", str(e))
            continue
        if a.get("kind") not in ("StorageV2", "BlockBlobStorage"):
            row("source account", s["account"], "BLOCK", f"kind {a.get('kind')}: Event Grid blob events need StorageV2 or BlockBlobStorage")
        hns = a.get("isHnsEnabled") or False
        row("hierarchical namespace", s["account"], "WARN" if hns else "ok",
            "enabled: Data Lake writes are caught by FlushWithClose, but Microsoft documents blob index tags (retention tags, "
            "Find Blobs by Tags) as not yet supported on such accounts: check retention there before relying on it" if hns else "off")
        if kind != "recordings":
            continue
        sku = (a.get("sku") or {}).get("name", "")
        if sku.lower() in ZONE_REDUNDANT_SKUS and apply_lifecycle:
            row("lifecycle policy vs redundancy", s["account"], "WARN",
                f"{sku}: the Archive tier is not offered on zone-redundant accounts, so the policy is applied without tierToArchive "
                "(those classes stop at Cold)")
        else:
            row("lifecycle policy vs redundancy", s["account"], "ok", f"{sku}{'' if apply_lifecycle else ', policy not applied'}")


def check_key_vault(name, rg):
    if not name:
        return
    try:
        kv = az("keyvault", "show", "-g", rg, "-n", name)
    except AzError as e:
        row("Key Vault uses RBAC", name, "BLOCK", str(e))
        return
    rbac = (kv.get("properties") or {}).get("enableRbacAuthorization")
    if rbac is True:
        row("Key Vault uses RBAC", name, "ok")
    else:
        row("Key Vault uses RBAC", name, "BLOCK",
            "the vault uses access policies: the Key Vault Secrets User role the template grants does nothing there, so the "
            "webhook settings would not resolve (switch the vault to the Azure RBAC permission model)")


def allowed(permissions, action):
    def match(patterns):
        return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)
    return any(match(p.get("actions", [])) and not match(p.get("notActions", [])) for p in permissions)


def permissions_of(scope):
    url = f"{ARM}{scope}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"
    return az("rest", "--method", "get", "--url", url).get("value", [])


DEPLOY = "Microsoft.Resources/deployments/write"
ASSIGN = "Microsoft.Authorization/roleAssignments/write"
DEFINE = "Microsoft.Authorization/roleDefinitions/write"
DIAGNOSE = "Microsoft.Insights/diagnosticSettings/write"
LOCK = "Microsoft.Authorization/locks/write"  # the delete lock on the app account (modules/storage.bicep)


def check_rights(p, sub, rg, recs, logs, diags, spaces, ws_diags, hosts, targets, bypass, extra):
    """The deployer's rights at every scope the template writes to: each resource group a module
    deploys into (a nested deployment there, and what it creates), the subscriptions of watched
    hosts (the operation reader role), the bypassScopes (subscriptions and resource groups: a custom
    role and its assignment in each), and the destinations of the diagnostic settings (Azure checks
    the right to their keys when a setting is created)."""
    scopes = {k: set(v) for k, v in extra.items()}

    def need(scope, *actions):
        scopes.setdefault(scope, set()).update(actions)

    def group(s, r):
        return f"/subscriptions/{s}/resourceGroups/{r}"

    need(group(sub, rg), ASSIGN, LOCK)
    for s in recs + logs:
        need(group(s["sub"], s["rg"]), DEPLOY, ASSIGN, DEFINE, "Microsoft.EventGrid/systemTopics/write")
    for d in diags:
        need(group(d["sub"], d["rg"]), DEPLOY, DIAGNOSE)
        if d["logs"] is not None:
            need(account_id(d["logs"]), "Microsoft.Storage/storageAccounts/listKeys/action")
    for w in spaces:
        need(group(w["sub"], w["rg"]), DEPLOY, ASSIGN, *preflight_existing.table_read_rights(p))
    for d in ws_diags:
        need(group(d["sub"], d["rg"]), DEPLOY, DIAGNOSE)
        need(d["workspace"]["id"], "Microsoft.OperationalInsights/workspaces/sharedKeys/action")
    for h in hosts:
        need(group(h["sub"], h["rg"]), DEPLOY, ASSIGN, DEFINE)
        need(f"/subscriptions/{h['sub']}", DEPLOY, ASSIGN, DEFINE)
    for t in targets:
        parts = t.strip("/").split("/")
        if len(parts) >= 4:
            need(group(parts[1], parts[3]), DEPLOY, ASSIGN, DEFINE)
    # bypassScopes: a custom role and its assignment at each subscription listed
    # (modules/bypass-scopes-access.bicep) and at each resource group listed (session-targets-access.bicep).
    for b in bypass:
        parts = b.strip("/").split("/")
        if len(parts) == 2:
            need(f"/subscriptions/{parts[1]}", DEPLOY, ASSIGN, DEFINE)
        elif len(parts) == 4:
            need(group(parts[1], parts[3]), DEPLOY, ASSIGN, DEFINE)
    for scope, needs in scopes.items():
        target = scope.rstrip("/").rsplit("/", 1)[-1]
        try:
            perms = permissions_of(scope)
        except AzError as e:
            row("deployer's rights", target, "BLOCK", str(e))
            continue
        missing = sorted(a for a in needs if not allowed(perms, a))
        if missing:
            row("deployer's rights", target, "BLOCK",
                f"missing {', '.join(missing)} on {scope} (needs Owner, or Contributor + User Access Administrator; "
                "a diagnostic setting also needs the keys of its destination)")
        else:
            row("deployer's rights", target, "ok")


def check_topics(recs, logs):
    """An account may have one Event Grid system topic: an existing one the template does not adopt fails it."""
    accounts = {}
    for s in recs + logs:
        accounts.setdefault(account_id(s).lower(), s)
        if s["topic"] and not accounts[account_id(s).lower()]["topic"]:
            accounts[account_id(s).lower()] = s
    planned_topics = []
    for key, s in accounts.items():
        planned = s["topic"] or f"evgt-{s['account']}"
        planned_topics.append((s, planned))
        try:
            topics = az("eventgrid", "system-topic", "list", "--subscription", s["sub"], "-g", s["rg"]) or []
        except AzError as e:
            row("one system topic per account", s["account"], "BLOCK", str(e))
            continue
        other = [t.get("name") for t in topics
                 if (t.get("source") or "").lower() == key and (t.get("name") or "").lower() != planned.lower()]
        if other:
            row("one system topic per account", s["account"], "BLOCK",
                f"the account already has system topic {', '.join(other)} and may have only one: pass its name as the "
                "source's systemTopicName")
        else:
            row("one system topic per account", s["account"], "ok", planned)
    return planned_topics


def check_catalogue_auth(p):
    """App Service authentication without the app registration's client id authenticates nobody."""
    if p.get("catalogueAuth") == "platform" and not p.get("catalogueAuthClientId"):
        row("catalogue authentication", "platform", "BLOCK",
            "catalogueAuth = platform needs catalogueAuthClientId (the app registration): the template refuses it without one")


# The Microsoft Graph application permissions the features need (infra/README.md, Microsoft Graph
# application permissions): (parameter that turns the feature on, permission, its app role id, what
# fails without it). New features add theirs here.
GRAPH_PERMISSIONS = [
    ("graphEndpoint", "User.ReadBasic.All", "97235f07-e226-4f63-ace3-39588e11d3a1",
     "every person read is refused (403) and reviews stay unverified-identity"),
    ("authzPimGroups", "PrivilegedAssignmentSchedule.Read.AzureADGroup", "cd4161cb-f098-48f8-a884-1eda9a42434c",
     "every group's PIM for Groups read is refused (403) and sessions only a group's role could cover stay unknown"),
    ("authzPimGroups", "GroupMember.Read.All", "98830695-27a2-44f7-8c18-0c3ebc9698f6",
     "every group's members read is refused (403) and sessions only a group's role could cover stay unknown"),
]
GRAPH_APP = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph's application id


def check_graph(p):
    """Bicep cannot grant a Microsoft Graph application permission: each one an enabled feature needs is
    a WARN row with the one command that grants it (after the deployment, by an Entra administrator)."""
    for setting, permission, role, without in GRAPH_PERMISSIONS:
        if p.get(setting):
            row("Microsoft Graph application permission", permission, "WARN",
                f"{setting} is set: after the deployment an Entra administrator grants the app's identity {permission} "
                f"(until then {without}): az rest --method POST --uri "
                "https://graph.microsoft.com/v1.0/servicePrincipals/<app principal id>/appRoleAssignments --body "
                f"'{{\"principalId\":\"<app principal id>\",\"resourceId\":\"<id of service principal {GRAPH_APP}>\","
                f"\"appRoleId\":\"{role}\"}}' (infra/README.md, Microsoft Graph application permissions)")


def check_app_storage_sku(sub, location, sku):
    """The app account's redundancy must be offered in the region (GZRS needs availability zones)."""
    url = f"{ARM}/subscriptions/{sub}/providers/Microsoft.Storage/skus?api-version=2023-05-01"
    try:
        skus = az("rest", "--method", "get", "--url", url).get("value", [])
    except AzError as e:
        row("app account redundancy in region", sku, "BLOCK", str(e))
        return
    region = location.replace(" ", "").lower()

    def here(s):
        places = {x.replace(" ", "").lower() for x in s.get("locations") or []}
        refused = any(r.get("type") == "Location" and region in {v.replace(" ", "").lower() for v in r.get("values") or []}
                      for r in s.get("restrictions") or [])
        return region in places and not refused

    offered = any(s.get("name") == sku and s.get("kind") == "StorageV2" and here(s) for s in skus)
    if offered:
        row("app account redundancy in region", sku, "ok", location)
    else:
        row("app account redundancy in region", sku, "BLOCK",
            f"{sku} is not offered for StorageV2 in {location} (zone-redundant kinds need a region with availability zones): "
            "set appStorageSku to Standard_GRS, Standard_ZRS or Standard_LRS")


def check_region(location, zone_redundant):
    args = ["functionapp", "list-flexconsumption-locations"] + (["--zone-redundant", "true"] if zone_redundant else [])
    try:
        names = {(x.get("name") or "").replace(" ", "").lower() for x in az(*args)}
    except AzError as e:
        row("Flex Consumption in region", location, "BLOCK", str(e))
        return
    if location.replace(" ", "").lower() not in names:
        row("Flex Consumption in region", location, "BLOCK",
            f"{location} does not offer Flex Consumption{' with zone redundancy' if zone_redundant else ''}")
        return
    # The runtime list is the CLI's view of the region's stacks; custom handlers may be missing from it
    # (Microsoft's own migration script skips this check for `custom`), so silence is a warning only.
    try:
        runtimes = az("functionapp", "list-flexconsumption-runtimes", "--location", location, "--runtime", "custom")
    except AzError as e:
        runtimes, why = None, str(e)
    else:
        why = "the list is empty"
    zr = ", zone-redundant" if zone_redundant else ""
    if runtimes:
        row("Flex Consumption in region", location, "ok", "custom runtime listed" + zr)
    else:
        row("Flex Consumption in region", location, "WARN",
            f"Flex Consumption offered{zr}; the `custom` runtime could not be confirmed ({why}): the deployment itself will say")


def main(argv):
    if len(argv) != 3:
        print("usage: infra/preflight.sh <params-file> <resource-group>", file=sys.stderr)
        return 2
    params_file, rg = argv[1], argv[2]
    removed = removed_parameters(params_file)
    if removed:
        print("\n".join(f"preflight: {r}" for r in removed), file=sys.stderr)
        return 1
    try:
        p = parameters(params_file)
        sub = az("account", "show")["id"]
        location = p.get("location") or az("group", "show", "-n", rg)["location"]
    except AzError as e:
        print(f"preflight: {e}", file=sys.stderr)
        return 1
    recs, logs, diags = sources(p, sub, rg)
    spaces, ws_diags = workspace_sinks(p, sub, rg)
    hosts = watched_hosts(p, recs)
    extra = {}
    existing = preflight_existing.Checks(az, row, AzError, lambda scope, *a: extra.setdefault(scope, set()).update(a))
    check_region(location, bool(p.get("zoneRedundant")))
    check_app_storage_sku(sub, location, p.get("appStorageSku") or "Standard_GZRS")
    check_catalogue_auth(p)
    check_graph(p)
    preflight_existing.sentinel(existing, p)
    preflight_existing.custody(existing, p, recs, account_id)
    preflight_existing.evidence_lock(existing, p, sub, rg)
    # infra/deploy.sh hands the same settings down: the second pass through a deployment stack, or not.
    preflight_stack.removals(existing, p, sub, rg, preflight_existing.FINDINGS["sentinelTables"],
                             os.environ.get("DEPLOY_WITH_STACK", "true") != "false",
                             os.environ.get("DEPLOY_ACTION_ON_UNMANAGE") or "deleteResources")
    check_rights(p, sub, rg, recs, logs, diags, spaces, ws_diags, hosts, p.get("bastionSessionTargetGroups") or [],
                 p.get("bypassScopes") or [], extra)
    check_bastions(recs, diags, [{k: h[k] for k in ("bastion", "sub", "rg")} for h in ws_diags + hosts])
    check_diagnostics(diags)
    check_workspace_diagnostics(ws_diags)
    check_accounts(recs, logs, p.get("applyLifecyclePolicy", True) is not False)
    topics = check_topics(recs, logs)
    preflight_existing.subscriptions(existing, p, rg, topics)
    check_key_vault(p.get("keyVaultName") or "", rg)

    widths = [max(len(str(r[i])) for r in ROWS + [("CHECK", "TARGET", "RESULT", "")]) for i in range(3)]
    print(f"{'CHECK':<{widths[0]}}  {'TARGET':<{widths[1]}}  {'RESULT':<{widths[2]}}  DETAIL")
    for r in ROWS:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}")
    if os.environ.get("PREFLIGHT_FINDINGS"):  # what infra/deploy.sh acts on
        with open(os.environ["PREFLIGHT_FINDINGS"], "w", encoding="utf-8") as f:
            json.dump(preflight_existing.FINDINGS, f)
    blocking = sum(1 for r in ROWS if r[2] == "BLOCK")
    print(f"preflight: {blocking} blocking, {sum(1 for r in ROWS if r[2] == 'WARN')} warnings")
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

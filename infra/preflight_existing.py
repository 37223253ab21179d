"""The preflight's checks of what already exists where the template writes (infra/preflight.py calls them):
Microsoft Sentinel (workspace, onboarding, the six tables' columns, rules of the same name), the custody
workspace and the diagnostic settings already on the recording accounts' blob services, the evidence
container's immutability policy against `evidenceImmutabilityLocked`, and the Event Grid subscriptions
already on the source accounts' topics (another instance of the product, or names of an earlier template).
Every fact comes from a read-only `az` call (GET requests, list); each check adds rows through `row`.
"""

import json
import re
from pathlib import Path
from urllib.parse import urlparse

ARM = "https://management.azure.com"
ROOT = Path(__file__).resolve().parent.parent
CUSTODY_SETTING = "bastion-recordings-custody"  # the name modules/custody-diagnostics.bicep gives its setting
CUSTODY_CATEGORIES = {"StorageRead", "StorageWrite", "StorageDelete"}
DEPLOY = "Microsoft.Resources/deployments/write"
ASSIGN = "Microsoft.Authorization/roleAssignments/write"
DIAGNOSE = "Microsoft.Insights/diagnosticSettings/write"
WORKSPACE_KEYS = "Microsoft.OperationalInsights/workspaces/sharedKeys/action"
# Resource Manager's answer for a resource that is not there, as `az rest` prints it.
ABSENT = re.compile(r"not ?found|\b404\b", re.I)


# What the preflight found that infra/deploy.sh acts on (written to $PREFLIGHT_FINDINGS by preflight.py):
# sentinelWorkspace and sentinelTables (the Microsoft tables its rules need that it has or this
# deployment sends there), staleSubscriptions (this app's, under names the template no longer gives).
FINDINGS = {"sentinelWorkspace": "", "sentinelTables": [], "staleSubscriptions": []}


class Checks:
    """The helpers of infra/preflight.py these checks use: az, row, its error type and `need` (rights)."""

    def __init__(self, az, row, error, need):
        self.az, self.row, self.error, self.need = az, row, error, need

    def get(self, path, version):
        """A GET of `path` (a resource id) through `az rest`; None when Resource Manager answers not found."""
        try:
            return self.az("rest", "--method", "get", "--url", f"{ARM}{path}?api-version={version}")
        except self.error as e:
            if ABSENT.search(str(e)):
                return None
            raise


def table_read_rights(p):
    """With workspaceReadScope = tables (the default) the read grant is a custom role defined in the
    workspace's resource group (modules/workspace-access.bicep)."""
    return ["Microsoft.Authorization/roleDefinitions/write"] if p.get("workspaceReadScope", "tables") == "tables" else []


def group_of(resource_id):
    parts = resource_id.strip("/").split("/")
    return f"/subscriptions/{parts[1]}/resourceGroups/{parts[3]}"


def sentinel(c, p):
    """The Sentinel workspace: it exists, is onboarded when the rules need it, its tables' columns agree
    with sentinel/tables.json, and rules of the same display name are this template's."""
    ws = p.get("sentinelWorkspaceId") or ""
    if not ws:
        return
    name = ws.rstrip("/").rsplit("/", 1)[-1]
    content, onboard = p.get("sentinelContent", True) is not False, bool(p.get("sentinelOnboard"))
    actions = [DEPLOY, ASSIGN, "Microsoft.OperationalInsights/workspaces/tables/write",
               "Microsoft.Insights/dataCollectionEndpoints/write", "Microsoft.Insights/dataCollectionRules/write"]
    if content:
        actions += ["Microsoft.SecurityInsights/alertRules/write", "Microsoft.OperationalInsights/workspaces/savedSearches/write",
                    "Microsoft.Insights/workbooks/write"]
    if onboard:
        actions.append("Microsoft.SecurityInsights/onboardingStates/write")
    c.need(group_of(ws), *actions)
    if p.get("enablePrivateNetworking"):
        scope = p.get("monitorPrivateLinkScopeId") or ""
        if not scope:
            c.row("Sentinel ingestion endpoint", name, "BLOCK",
                  "private networking turns the data collection endpoint's public access off: set monitorPrivateLinkScopeId to "
                  "the existing Azure Monitor Private Link Scope whose private endpoint and privatelink DNS zones serve the "
                  "app's virtual network (the template links the endpoint to it)")
        else:
            c.need(group_of(scope), DEPLOY, "Microsoft.Insights/privateLinkScopes/scopedResources/write")
            c.row("Sentinel ingestion endpoint", name, "ok", f"linked to {scope.rstrip('/').rsplit('/', 1)[-1]}")
    try:
        if c.get(ws, "2025-07-01") is None:
            c.row("Sentinel workspace", name, "BLOCK", "not found: sentinelWorkspaceId names an existing Log Analytics workspace")
            return
        state = c.get(f"{ws}/providers/Microsoft.SecurityInsights/onboardingStates/default", "2025-09-01")
        tables = (c.get(f"{ws}/tables", "2025-07-01") or {}).get("value", [])
        rules = (c.get(f"{ws}/providers/Microsoft.SecurityInsights/alertRules", "2025-09-01") or {}).get("value", []) if state else []
    except c.error as e:
        c.row("Sentinel workspace", name, "BLOCK", str(e))
        return
    if state is None and not onboard and content:
        c.row("Sentinel onboarded", name, "BLOCK",
              "the workspace is not onboarded to Microsoft Sentinel and the analytics rules need it: set sentinelOnboard = true "
              "(or sentinelContent = false for the tables and the export only)")
    elif state is not None and onboard:
        c.row("Sentinel onboarded", name, "ok", "already onboarded (sentinelOnboard = true rewrites the same state)")
    else:
        c.row("Sentinel onboarded", name, "ok", "onboarded" if state is not None else "not onboarded (no content asked for)")
    sentinel_tables(c, name, tables)
    if content:
        present = sentinel_present(p, ws, tables)
        FINDINGS["sentinelWorkspace"], FINDINGS["sentinelTables"] = ws, sorted(present)
        sentinel_rules(c, name, rules, present)


def sentinel_sent(p, ws):
    """The Microsoft tables this deployment sends to workspace `ws` itself (as main.bicep derives them)."""
    key, sent = ws.lower(), set()
    if p.get("custodyDiagnostics") and ((p.get("custodyWorkspace") or {}).get("resourceId") or "").lower() == key:
        sent.add("StorageBlobLogs")
    if any(w.get("diagnostics") and w.get("bastionName") and (w.get("resourceId") or "").lower() == key
           for w in p.get("logAnalyticsWorkspaces") or []):
        sent.add("MicrosoftAzureBastionAuditLogs")
    return sent


def sentinel_present(p, ws, existing):
    """The tables the rules need (requiresTables) that the workspace has or this deployment sends there."""
    needed = {t for r in json.loads((ROOT / "sentinel/rules/rules.json").read_text())["rules"] for t in r["requiresTables"]}
    have = {(t.get("name") or "") for t in existing}
    return {t for t in needed if t in have} | (needed & sentinel_sent(p, ws))


def sentinel_tables(c, name, existing):
    declared = json.loads((ROOT / "sentinel/tables.json").read_text())["tables"]
    by_name = {(t.get("name") or "").lower(): t for t in existing}
    for t in declared:
        found = by_name.get(t["name"].lower())
        if found is None:
            c.row("Sentinel table", t["name"], "ok", "created by the first pass")
            continue
        columns = {(x.get("name") or "").lower(): (x.get("type") or "").lower()
                   for x in ((found.get("properties") or {}).get("schema") or {}).get("columns") or []}
        clash = [f"{col['name']} is {columns[col['name'].lower()]}, declared {col['type']}" for col in t["columns"]
                 if col["name"].lower() in columns and columns[col["name"].lower()] != col["type"].lower()]
        if clash:
            c.row("Sentinel table", t["name"], "BLOCK",
                  f"exists in {name} with other column types ({'; '.join(clash)}): the tables API refuses to change a "
                  "column's type; drop the table or export to another workspace")
        else:
            c.row("Sentinel table", t["name"], "ok", "exists (an earlier deployment or another instance): kept, missing columns added")


def sentinel_rules(c, name, existing, present):
    ours = json.loads((ROOT / "sentinel/rules/rules.json").read_text())["rules"]
    for r in ours:
        absent = [t for t in r["requiresTables"] if t not in present]
        if absent:
            c.row("Sentinel rule", r["displayName"], "WARN",
                  f"not deployed: its query reads {', '.join(absent)}, which {name} does not have (Sentinel refuses a rule "
                  "naming a table the workspace lacks; a Microsoft table exists only where a diagnostic setting sends it "
                  "there): send the recording accounts' StorageRead/StorageWrite/StorageDelete to this workspace (custodyWorkspace "
                  "= it, custodyDiagnostics = true) and re-run; the deployment's output sentinelRulesSkipped names it too")
            continue
        query = (ROOT / f"sentinel/rules/{r['name']}.kql").read_text()
        same = [x for x in existing if ((x.get("properties") or {}).get("displayName") or "") == r["displayName"]]
        foreign = [x.get("name") for x in same if ((x.get("properties") or {}).get("query") or "").strip() != query.strip()]
        if foreign:
            c.row("Sentinel rule", r["displayName"], "WARN",
                  f"a rule of that name with another query exists in {name} ({', '.join(foreign)}: imported or edited outside "
                  "this template); the template's rule has its own fixed id and is added beside it, so both alert")
        else:
            c.row("Sentinel rule", r["displayName"], "ok", "exists with this query" if same else "created by the second pass")


def custody(c, p, recs, account_id):
    """The custody workspace, and the settings already sending the recording accounts' blob logs."""
    ws = (p.get("custodyWorkspace") or {}).get("resourceId") or ""
    if not ws:
        return
    name = ws.rstrip("/").rsplit("/", 1)[-1]
    c.need(group_of(ws), DEPLOY, ASSIGN, *table_read_rights(p))
    try:
        found = c.get(ws, "2025-07-01")
    except c.error as e:
        found, why = None, str(e)
    else:
        why = "not found: custodyWorkspace.resourceId names an existing Log Analytics workspace"
    c.row("custody workspace", name, "BLOCK" if found is None else "ok", why if found is None else "")
    if found is None:
        return
    diagnose = bool(p.get("custodyDiagnostics"))
    accounts = {account_id(s).lower(): s for s in recs}
    for key, s in accounts.items():
        if diagnose:
            c.need(group_of(account_id(s)), DEPLOY, DIAGNOSE)
            c.need(ws, WORKSPACE_KEYS)
        target = f"{s['account']} -> workspace {name}"
        try:
            listed = c.az("monitor", "diagnostic-settings", "list", "--resource", f"{account_id(s)}/blobServices/default")
        except c.error as e:
            c.row("custody sink", target, "BLOCK", str(e))
            continue
        settings = listed.get("value", []) if isinstance(listed, dict) else (listed or [])
        to_ws = [x for x in settings if (x.get("workspaceId") or "").lower() == ws.lower() and x.get("name") != CUSTODY_SETTING]
        sends = [x["name"] for x in to_ws if sends_blob_logs(x)]
        maybe = [x["name"] for x in to_ws if any(l.get("enabled") and (l.get("categoryGroup") or "").lower() == "audit"
                                                 for l in x.get("logs") or [])]
        if diagnose and sends:
            c.row("custody sink", target, "BLOCK",
                  f"setting {', '.join(sends)} already sends the blob logs to this workspace (often Azure Policy's), and Azure "
                  "refuses a second setting sending a category to the same sink: set custodyDiagnostics = false and keep it "
                  "(the app reads StorageBlobLogs whichever setting sends them)")
        elif diagnose and maybe:
            c.row("custody sink", target, "WARN",
                  f"setting {', '.join(maybe)} sends the category group `audit` to this workspace: if it covers StorageDelete "
                  "the template's setting is refused; then set custodyDiagnostics = false and keep it")
        elif not diagnose and not sends:
            c.row("custody sink", target, "WARN",
                  "no diagnostic setting sends StorageRead/StorageWrite/StorageDelete of this account to the custody workspace: "
                  "CustodyActor will find no actor (set custodyDiagnostics = true, or add such a setting)")
        else:
            c.row("custody sink", target, "ok", "the template adds its setting" if diagnose else f"sent by {', '.join(sends)}")


def sends_blob_logs(setting):
    return any(l.get("enabled") and (l.get("category") in CUSTODY_CATEGORIES or (l.get("categoryGroup") or "").lower() == "alllogs")
               for l in setting.get("logs") or [])


def evidence_lock(c, p, sub, rg):
    """The evidence container's immutability policy against evidenceImmutabilityLocked."""
    locked_param = bool(p.get("evidenceImmutabilityLocked"))
    account = p.get("storageAccountName") or ""
    if not account:  # the template's default: st<base><env><6 characters of a hash of the resource group>
        pattern = re.compile(r"^st%s%s[a-z0-9]{6}$" % (re.escape((p.get("baseName") or "").lower()), re.escape(p.get("environment") or "")))
        try:
            names = [a.get("name") or "" for a in c.az("storage", "account", "list", "-g", rg) or []]
        except c.error as e:
            c.row("evidence immutability", rg, "BLOCK", str(e))
            return
        matches = [n for n in names if pattern.match(n)]
        account = matches[0] if len(matches) == 1 else ""
    if not account:
        c.row("evidence immutability", "evidence", "ok", "no app account yet: the template writes the policy unlocked")
        return
    path = (f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}"
            "/blobServices/default/containers/evidence/immutabilityPolicies/default")
    try:
        policy = c.get(path, "2023-05-01")
    except c.error as e:
        c.row("evidence immutability", account, "BLOCK", str(e))
        return
    state = ((policy or {}).get("properties") or {}).get("state") or ""
    if state == "Locked" and not locked_param:
        c.row("evidence immutability", account, "BLOCK",
              "the policy is Locked and evidenceImmutabilityLocked is false: the API refuses every write of a locked policy, "
              "so the deployment would fail; set evidenceImmutabilityLocked = true")
    elif locked_param and state != "Locked":
        c.row("evidence immutability", account, "WARN",
              f"evidenceImmutabilityLocked is true but the policy is {state or 'absent'}: the template leaves it alone, and an "
              "unlocked policy is no compliance-grade protection (lock it, infra/README.md)")
    else:
        c.row("evidence immutability", account, "ok", state or "absent: the template writes it unlocked")


def subscriptions(c, p, rg, topics):
    """Event subscriptions already on the topics: delivering elsewhere (another instance), or to this app
    under a name the template no longer gives (an earlier version's: both deliver every event)."""
    prefix = p.get("functionAppName") or f"func-{(p.get('baseName') or '').lower()}-{p.get('environment') or ''}-"
    try:
        apps = [a for a in c.az("functionapp", "list", "-g", rg) or [] if (a.get("name") or "").startswith(prefix)]
    except c.error as e:
        c.row("event subscriptions", rg, "BLOCK", str(e))
        return
    hosts = {(a.get("defaultHostName") or "").lower() for a in apps}
    names = [a.get("name") or "" for a in apps]
    for s, topic in topics:
        try:
            found = c.az("eventgrid", "system-topic", "event-subscription", "list", "--subscription", s["sub"], "-g", s["rg"],
                         "--system-topic-name", topic)
        except c.error as e:
            if ABSENT.search(str(e)):
                continue  # no topic yet: nothing there to meet
            c.row("event subscriptions", topic, "BLOCK", str(e))
            continue
        for x in found or []:
            url = (x.get("destination") or {}).get("endpointBaseUrl") or (x.get("destination") or {}).get("endpointUrl") or ""
            host = (urlparse(url).hostname or "").lower()
            target = f"{topic}/{x.get('name')}"
            if host and host in hosts:
                if not any(f"-{n[:16]}-" in (x.get("name") or "") for n in names):
                    c.row("event subscriptions", target, "WARN",
                          "delivers to this app under a name this template no longer gives (an earlier version's): until it goes "
                          "both deliver every event; infra/deploy.sh deletes it once the new subscriptions exist")
                    FINDINGS["staleSubscriptions"].append({"subscription": s["sub"], "resourceGroup": s["rg"],
                                                           "topic": topic, "name": x.get("name")})
                else:
                    c.row("event subscriptions", target, "ok", "this app's")
            else:
                c.row("event subscriptions", target, "WARN",
                      f"delivers to {host or url or 'another endpoint'}: another instance of the product (or another consumer) "
                      "on this account; this deployment adds its own subscriptions beside it, named after its app")

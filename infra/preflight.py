"""Read-only checks of what a deployment of infra/main.bicep depends on (run by infra/preflight.sh).

Every fact comes from a read-only `az` query (show, list, build-params, GET); nothing is changed.
Prints one table (check, target, result, detail) and exits 1 when a finding blocks the deployment,
2 on a usage error. Results: ok, WARN (deploys, but read the detail), BLOCK (would fail or misbehave).
"""

import fnmatch
import json
import subprocess
import sys

SETTING_NAME = "archive-bastion-audit-logs"  # the name main.bicep gives its diagnostic settings
ZONE_REDUNDANT_SKUS = {"standard_zrs", "standard_gzrs", "standard_ragzrs", "premium_zrs"}
ROWS = []


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


def sources(p, sub, rg):
    """The recording and audit-log sources and the diagnostic settings, defaults as main.bicep applies them."""
    def norm(s, container):
        return {
            "account": s["accountName"], "sub": s.get("subscriptionId") or sub,
            "rg": s.get("resourceGroup") or rg, "container": s.get("container") or container,
            "bastion": s.get("bastionName") or "",
        }
    recs = p.get("recordingSources") or [{
        "accountName": p.get("recordingsAccountName", ""), "resourceGroup": p.get("recordingsResourceGroup"),
        "container": p.get("recordingsContainer")}]
    logs = p.get("auditLogSources") or [{
        "accountName": p.get("auditLogsAccountName", ""), "resourceGroup": p.get("auditLogsResourceGroup"),
        "container": p.get("auditLogsContainer")}]
    recs = [norm(s, "recordings") for s in recs]
    logs = [norm(s, "insights-logs-bastionauditlogs") for s in logs]
    diags = p.get("bastionDiagnostics") or (
        [{"bastionName": p["bastionName"], "resourceGroup": p.get("bastionResourceGroup")}] if p.get("bastionName") else [])
    out = []
    for d in diags:
        name = (d.get("auditLogsAccountName") or logs[0]["account"]).lower()
        log = next((s for s in logs if s["account"].lower() == name), None)
        out.append({"bastion": d["bastionName"], "sub": d.get("subscriptionId") or sub,
                    "rg": d.get("resourceGroup") or rg, "logs": log, "logsName": name})
    return recs, logs, out


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


def check_bastions(recs, diags):
    hosts = {bastion_id(h).lower(): h for h in diags}
    for s in recs:
        if s["bastion"]:
            hosts.setdefault(bastion_id({**s}).lower(), {"bastion": s["bastion"], "sub": s["sub"], "rg": s["rg"]})
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
            found = az("monitor", "diagnostic-settings", "list", "--resource", bastion_id(d))
        except AzError as e:
            row("no other setting on the same sink", target, "BLOCK", str(e))
            continue
        settings = found.get("value", []) if isinstance(found, dict) else (found or [])
        clash = [
            s["name"] for s in settings
            if s.get("name") != SETTING_NAME
            and (s.get("storageAccountId") or "").lower() == account_id(d["logs"]).lower()
            and any(log.get("enabled") and (log.get("category") == "BastionAuditLogs" or (log.get("categoryGroup") or "").lower() in ("alllogs", "audit"))
                    for log in s.get("logs") or [])
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


def check_rights(sub, rg, recs, logs, diags):
    groups = {(sub, rg): ["roleAssignments/write"]}
    for s in recs + logs:
        groups.setdefault((s["sub"], s["rg"]), []).extend(["roleAssignments/write", "roleDefinitions/write"])
    for d in diags:
        groups.setdefault((d["sub"], d["rg"]), []).append("diagnosticSettings")
    for (gsub, grg), needs in groups.items():
        url = (f"https://management.azure.com/subscriptions/{gsub}/resourceGroups/{grg}"
               "/providers/Microsoft.Authorization/permissions?api-version=2022-04-01")
        try:
            perms = az("rest", "--method", "get", "--url", url).get("value", [])
        except AzError as e:
            row("caller may assign roles", grg, "BLOCK", str(e))
            continue
        wanted = sorted({f"Microsoft.Authorization/{n}" if "/" in n else "Microsoft.Insights/diagnosticSettings/write" for n in needs})
        missing = [a for a in wanted if not allowed(perms, a)]
        if missing:
            row("caller may assign roles", grg, "BLOCK",
                f"missing {', '.join(missing)} (needs Owner, or Contributor + User Access Administrator)")
        else:
            row("caller may assign roles", grg, "ok")


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
    try:
        p = parameters(params_file)
        sub = az("account", "show")["id"]
        location = p.get("location") or az("group", "show", "-n", rg)["location"]
    except AzError as e:
        print(f"preflight: {e}", file=sys.stderr)
        return 1
    recs, logs, diags = sources(p, sub, rg)
    check_region(location, bool(p.get("zoneRedundant")))
    check_rights(sub, rg, recs, logs, diags)
    check_bastions(recs, diags)
    check_diagnostics(diags)
    check_accounts(recs, logs, p.get("applyLifecyclePolicy", True) is not False)
    check_key_vault(p.get("keyVaultName") or "", rg)

    widths = [max(len(str(r[i])) for r in ROWS + [("CHECK", "TARGET", "RESULT", "")]) for i in range(3)]
    print(f"{'CHECK':<{widths[0]}}  {'TARGET':<{widths[1]}}  {'RESULT':<{widths[2]}}  DETAIL")
    for r in ROWS:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}")
    blocking = sum(1 for r in ROWS if r[2] == "BLOCK")
    print(f"preflight: {blocking} blocking, {sum(1 for r in ROWS if r[2] == 'WARN')} warnings")
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""What a redeploy through the deployment stack would remove (infra/preflight.py calls `removals`).

infra/deploy.sh makes its second pass a deployment stack update (`az stack group create
--action-on-unmanage deleteResources`): every resource the stack managed that the new template no longer
declares is deleted, wherever it lives (role assignments and custom roles at hosts, groups and
subscriptions, diagnostic settings, event subscriptions, App Service authentication). The preflight lists
them before anything runs: the stack's managed resources (`az stack group show`) against the resources
the new template declares (`az deployment group what-if --result-format ResourceIdOnly`, with the
parameters of the second pass). Data never goes that way: a removal of a resource that holds data or
guards it (the app account, its containers, tables and queues, the evidence policy, the delete lock,
workspaces and their tables, Application Insights, Sentinel's onboarding, a system topic other consumers'
subscriptions may hang on) blocks, e.g. after a renamed `baseName` or `storageAccountName` made the
template name a new app account. Read-only: a GET of the stack and a what-if evaluation.
"""

import json
import os
import re
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The stack's name: one per app resource group (a second instance of the product in the same group sets
# its own), never derived from parameters, so a renamed baseName finds the stack that holds the old names.
STACK = os.environ.get("DEPLOY_STACK_NAME") or "bastion-recordings"
ABSENT = re.compile(r"not ?found|\b404\b", re.I)
# Resource types a redeploy must never delete (lower case), with what would go with each.
KEPT = {
    "microsoft.storage/storageaccounts": "the account and everything in it",
    "microsoft.storage/storageaccounts/blobservices/containers": "the container's blobs",
    "microsoft.storage/storageaccounts/tableservices/tables": "the table's rows (the catalogue)",
    "microsoft.storage/storageaccounts/queueservices/queues": "the queue's messages",
    "microsoft.storage/storageaccounts/blobservices/containers/immutabilitypolicies": "the evidence packs' protection",
    "microsoft.authorization/locks": "the delete lock that keeps the catalogue and evidence",
    "microsoft.operationalinsights/workspaces": "the workspace's logs",
    "microsoft.operationalinsights/workspaces/tables": "the table's rows",
    "microsoft.insights/components": "the application's telemetry",
    "microsoft.securityinsights/onboardingstates": "Microsoft Sentinel on that workspace",
    "microsoft.eventgrid/systemtopics": "every subscription on the topic, other consumers' too",
}


def resource_type(resource_id):
    """`Microsoft.Storage/storageAccounts/blobServices/containers` of a resource id (an extension
    resource's own type: the part after its last `/providers/`)."""
    tail = resource_id.strip("/").split("/providers/")[-1].split("/")
    return "/".join([tail[0]] + tail[1::2])


def scope_of(resource_id):
    """The resource group (or subscription) a resource lies in: where the right to delete it is asked."""
    parts = resource_id.strip("/").split("/")
    if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
        return "/" + "/".join(parts[:4])
    return "/" + "/".join(parts[:2])


def declared(az, rg, p, tables):
    """The resource ids the second pass's template declares, as what-if evaluates it (lower case)."""
    doc = {"parameters": {k: {"value": v} for k, v in p.items()}}
    doc["parameters"]["deployEventSubscriptions"] = {"value": True}
    doc["parameters"]["sentinelWorkspaceTables"] = {"value": tables}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "whatif-params.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        result = az("deployment", "group", "what-if", "-g", rg, "-f", os.path.relpath(ROOT / "infra/main.bicep"),
                    "-p", f"@{path}", "--result-format", "ResourceIdOnly", "--no-pretty-print")
    return {c["resourceId"].lower() for c in (result or {}).get("changes", [])
            if c.get("resourceId") and c.get("changeType") not in ("Delete", "Ignore")}


def removals(c, p, sub, rg, tables, stacked, unmanage):
    """Rows for what the stack update would delete (or detach, with `unmanage` detachAll); BLOCK when one
    of them holds data. `stacked` false: the plain `az deployment` path, which removes nothing."""
    if not stacked:
        c.row("redeploy removes", "plain deployment", "WARN",
              "DEPLOY_WITH_STACK=false: nothing the template no longer declares is removed (infra/README.md, "
              "Turning a feature off, lists what stays behind)")
        return
    c.need(f"/subscriptions/{sub}/resourceGroups/{rg}", "Microsoft.Resources/deploymentStacks/write")
    try:
        stack = c.az("stack", "group", "show", "-g", rg, "-n", STACK)
    except c.error as e:
        if ABSENT.search(str(e)):
            c.row("redeploy removes", STACK, "ok", "no deployment stack yet: this deployment creates it and removes "
                  "nothing (what earlier plain deployments left stays: infra/README.md, Upgrading)")
            return
        c.row("redeploy removes", STACK, "BLOCK", f"the stack could not be read, so what it would delete is unknown: {e}")
        return
    try:
        new = declared(c.az, rg, p, tables)
    except c.error as e:
        c.row("redeploy removes", STACK, "BLOCK",
              f"the new template could not be evaluated (what-if), so what the stack would delete is unknown: {e}")
        return
    managed = [r["id"] for r in (stack or {}).get("resources") or [] if r.get("id")]
    gone = [m for m in managed if m.lower() not in new]
    if not gone:
        c.row("redeploy removes", STACK, "ok", f"nothing ({len(managed)} managed resources all still declared)")
        return
    verb = "detached (left in place, no longer managed)" if unmanage == "detachAll" else "deleted"
    for rid in gone:
        kind = resource_type(rid)
        kept = KEPT.get(kind.lower())
        if kept and unmanage != "detachAll":
            c.row("redeploy removes", rid, "BLOCK",
                  f"the stack would delete this {kind} ({kept}), which the new template no longer declares: a renamed "
                  "baseName or storageAccountName, or a removed source or feature? Keep the old value, or, to keep it "
                  "but stop managing it, run once with DEPLOY_ACTION_ON_UNMANAGE=detachAll (infra/README.md, Turning a "
                  "feature off)")
            continue
        c.row("redeploy removes", rid, "WARN", f"{kind}: no longer declared, {verb} by the stack update")
        if unmanage != "detachAll":
            c.need(scope_of(rid), f"{kind}/delete")

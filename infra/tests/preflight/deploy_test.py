"""Runs infra/deploy.sh against the stand-in `az` (and a stand-in `curl`) in a copy of infra/ with a
dummy dist/app.zip: each pass hands Resource Manager a JSON parameters file with deployEventSubscriptions
written into it (false first, true only after the system key exists; never an inline override of the
.bicepparam), a deployment refused while a new custom role replicates is retried with a bound, the
package upload waits while storage refuses it (role assignments propagating) and then goes on, stops at
once on any other failure, and nothing deploys after a blocking preflight. The host is started at the
host name the deployment outputs. deploy.sh run twice, with Microsoft Sentinel off and on, completes
both passes both times with the same deployments and parameters (idempotent names), and the second
pass waits with a bounded back-off while Sentinel refuses a rule whose new table is not queryable. The
second pass is the deployment stack's update (deleteResources, or detachAll when asked; the plain
deployment with DEPLOY_WITH_STACK=false), and a preflight refusing to let the stack delete data deploys nothing.
Run: python3 infra/tests/preflight/deploy_test.py   (scripts/ci-infra.sh does).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
RG, PARAMS, APP = "rg-bastrec-prod", "infra/params/prod.bicepparam", "func-bastrec-prod-abc123"
# A regional default host name (<app>-<hash>.<region>-01.azurewebsites.net), as Resource Manager outputs it.
HOST = f"{APP}-d7e2c1b4a9f3e6d0.westeurope-01.azurewebsites.net"
REFUSED = {"__error__": "ERROR: Status Code: 400, Details: ... 'AuthorizationPermissionMismatch' (403) writing the package ..."}
NOT_REPLICATED = {"__error__": "ERROR: {\"code\": \"RoleDefinitionDoesNotExist\", \"message\": \"The specified role definition with ID 'f1a2' does not exist.\"}"}
FIRST = (f"deployment group create -g {RG} -f infra/main.bicep -p @dist/deploy/params-false.json --query "
         "[properties.outputs.functionAppName.value, properties.outputs.functionAppHostName.value]")
# The second pass: the deployment stack's update (what the template no longer declares is deleted), or
# with DEPLOY_WITH_STACK=false the plain deployment.
STACKED = f"stack group create -n bastion-recordings -g {RG} --action-on-unmanage %s --deny-settings-mode none --yes"
SECOND = (f"{STACKED % 'deleteResources'} -f infra/main.bicep -p @dist/deploy/params-true.json --query "
          "outputs.sentinelRulesSkipped.value")
PLAIN_SECOND = (f"deployment group create -g {RG} -f infra/main.bicep -p @dist/deploy/params-true.json --query "
                "properties.outputs.sentinelRulesSkipped.value")
KEYS = f"functionapp keys list -g {RG} -n {APP} --query systemKeys.eventgrid_extension"


WS = "/subscriptions/00000000-0000-0000-0000-0000000000a1/resourceGroups/rg-sec/providers/Microsoft.OperationalInsights/workspaces/law-sentinel"
TABLES = f"rest --method get --url https://management.azure.com{WS}/tables?api-version=2025-07-01"


def listed(*names):
    """The workspace's tables as the Tables - List By Workspace API answers (value[].name)."""
    return {"value": [{"id": f"{WS}/tables/{n}", "name": n} for n in names]}


def ours():
    return [t["name"] for t in json.loads((ROOT / "sentinel/tables.json").read_text())["tables"]]


def answers(zip_answer, preflight_ok=True, first=f"{APP}\n{HOST}", key="key123", scenario=None, second=None):
    base = json.loads((HERE / "base.json").read_text())
    extra = json.loads((HERE / "scenarios" / f"{scenario}.json").read_text()) if scenario else {}
    a = {**base["answers"], **extra.get("answers", {})}
    built = {"parameters": {k: {"value": v} for k, v in {**base["parameters"], **extra.get("parameters", {})}.items()}}
    a[f"bicep build-params --file {PARAMS} --stdout"] = {"parametersJson": json.dumps(built)}
    if not preflight_ok:
        a["keyvault show -g rg-bastrec-prod -n kv-bastrec-prod"] = {"properties": {"enableRbacAuthorization": False}}
    a[FIRST] = first
    a[f"functionapp deployment source config-zip -g {RG} -n {APP} --src dist/app.zip"] = zip_answer
    a[KEYS] = key
    a[SECOND] = {} if second is None else second
    if TABLES in a:  # after the first pass the workspace lists the product's tables too
        before = a[TABLES]
        a[TABLES] = {"__sequence__": [before, listed(*ours(), *(t["name"] for t in before["value"]))]}
    return a


def run(t, runs=1, extra=None):
    """deploy.sh `runs` times in the prepared directory `t`: (exit codes, outputs, every call, handed files
    per run); `t / "runs"` holds each run's calls."""
    codes, outs, handed, per_run = [], [], [], []
    for n in range(runs):
        (t / f"handed{n}").mkdir()
        env = {**os.environ, "PATH": f"{HERE}:{t / 'bin'}:{os.environ['PATH']}", "DEPLOY_ZIP_WAIT_SECONDS": "0",
               "DEPLOY_ZIP_ATTEMPTS": "4", "DEPLOY_ROLE_WAIT_SECONDS": "0", "DEPLOY_ROLE_ATTEMPTS": "3",
               "DEPLOY_TABLE_WAIT_SECONDS": "0", "DEPLOY_TABLE_ATTEMPTS": "3",
               "DEPLOY_KEY_WAIT_SECONDS": "0", "DEPLOY_KEY_ATTEMPTS": "3",
               "PREFLIGHT_ANSWERS": str(t / "answers.json"), "PREFLIGHT_CALLS": str(t / "calls"),
               "PREFLIGHT_FILES": str(t / f"handed{n}"), "CURL_CALLS": str(t / "curl"), **(extra or {})}
        proc = subprocess.run([str(t / "infra/deploy.sh"), RG, PARAMS], cwd=t, env=env,
                              capture_output=True, text=True, check=False)
        codes.append(proc.returncode)
        outs.append(proc.stdout + proc.stderr)
        handed.append({f.name: json.loads(f.read_text()) for f in (t / f"handed{n}").iterdir()})
        calls = (t / "calls").read_text().splitlines() if (t / "calls").exists() else []
        per_run.append(calls[sum(len(r) for r in per_run):])
    (t / "runs").write_text(json.dumps(per_run))
    return codes, outs, calls, handed


def prepared(tmp, a):
    t = Path(tmp)
    shutil.copytree(ROOT / "infra", t / "infra", ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(ROOT / "sentinel", t / "sentinel")
    (t / "dist").mkdir()
    (t / "dist/app.zip").write_bytes(b"PK")
    (t / "bin").mkdir()
    (t / "bin/curl").write_text('#!/bin/sh\necho "$@" >>"$CURL_CALLS"\nexit 0\n')
    (t / "bin/curl").chmod(0o755)
    (t / "answers.json").write_text(json.dumps(a))
    return t


def deploy(name, zip_answer, exit_code, expect, calls_of_zip, preflight_ok=True, first=f"{APP}\n{HOST}", key="key123", check=None):
    with tempfile.TemporaryDirectory() as tmp:
        t = prepared(tmp, answers(zip_answer, preflight_ok, first, key))
        codes, outs, calls, handed = run(t)
        curls = (t / "curl").read_text().splitlines() if (t / "curl").exists() else []
    out, handed = outs[0], handed[0]
    zips = sum(1 for c in calls if "config-zip" in c)
    problems = [f"exit {codes[0]}, expected {exit_code}"] if codes[0] != exit_code else []
    problems += [f"no {e!r} in the output" for e in expect if e not in out]
    if zips != calls_of_zip:
        problems.append(f"{zips} package uploads, expected {calls_of_zip}")
    problems += [f"an inline parameter override: az {c}" for c in calls if "deployment group create" in c and " -p " in c
                 and any(p.startswith("deployEventSubscriptions=") for p in c.split())]
    problems += [f"the host started at {c!r}, not the deployment's host name output" for c in curls if f"https://{HOST}/" not in c]
    if check:
        problems += check(calls, handed)
    print(f"{'ok  ' if not problems else 'FAIL'} deploy scenario {name}")
    if problems:
        print("     " + "; ".join(problems) + "\n" + out)
    return not problems


TABLE_NOT_READY = {"__error__": "ERROR: {\"code\": \"DeploymentFailed\", \"details\": [{\"code\": \"BadRequest\", \"message\": "
                   "\"Failed to run the analytics rule query. One of the tables does not exist.\"}]}"}


def twice(name, scenario, second, expect):
    """deploy.sh run twice: both runs complete both passes, with the same deployments and parameters."""
    with tempfile.TemporaryDirectory() as tmp:
        t = prepared(tmp, answers({}, scenario=scenario, second=second))
        codes, outs, calls, handed = run(t, runs=2)
        per_run = json.loads((t / "runs").read_text())
    problems = [f"run {n + 1}: exit {c}" for n, c in enumerate(codes) if c != 0]
    problems += [f"no {e!r} in the first run's output" for e in expect if e not in outs[0]]
    problems += [f"run {n + 1}: {p}" for n, h in enumerate(handed) for p in passes(calls, h)]
    creates = [sorted(set(c for c in r if c.startswith(("deployment group create", "stack group create")))) for r in per_run]
    if creates[0] != creates[1] or len(creates[1]) != 2:
        problems.append(f"the runs deployed differently: {creates}")
    if handed[0] != handed[1]:
        problems.append("the runs handed Resource Manager different parameters")
    sentinel = [h.get("params-true.json", {}).get("parameters", {}).get("sentinelWorkspaceId") for h in handed]
    if (scenario is not None) != all(sentinel):
        problems.append(f"sentinelWorkspaceId handed: {sentinel}")
    print(f"{'ok  ' if not problems else 'FAIL'} deploy scenario {name}")
    if problems:
        print("     " + "; ".join(problems) + "\n" + "\n".join(outs))
    return not problems


def passes(calls, handed):
    """The first pass hands false, the second true (and only after the key was seen)."""
    problems = []
    flag = {n: d["parameters"].get("deployEventSubscriptions", {}).get("value") for n, d in handed.items()}
    if flag.get("params-false.json") is not False:
        problems.append(f"the first pass's file says deployEventSubscriptions={flag.get('params-false.json')}")
    if flag.get("params-true.json") is not True:
        problems.append(f"the second pass's file says deployEventSubscriptions={flag.get('params-true.json')}")
    if "baseName" not in handed.get("params-false.json", {}).get("parameters", {}):
        problems.append("the params file's own values were not handed on")
    order = [c for c in calls if c in (FIRST, KEYS, SECOND)]
    if order and (order[0] != FIRST or SECOND in order and order.index(SECOND) < order.index(KEYS)):
        problems.append(f"order of passes: {order}")
    return problems


def never_second(calls, _):
    return [f"subscriptions deployed without a system key: az {c}" for c in calls if c == SECOND]


def deploy_tables_never_ready():
    """Sentinel keeps refusing the rules: the second pass stops after the bound, naming the cause."""
    with tempfile.TemporaryDirectory() as tmp:
        t = prepared(tmp, answers({}, scenario="sentinel-ready", second=TABLE_NOT_READY))
        codes, outs, calls, _ = run(t)
    tries = sum(1 for c in calls if c == SECOND)
    problems = [f"exit {codes[0]}, expected 1"] if codes[0] != 1 else []
    problems += [f"{tries} second passes, expected 3"] if tries != 3 else []
    problems += [] if "still not queryable after 3 attempts" in outs[0] else ["no word of the bound"]
    print(f"{'ok  ' if not problems else 'FAIL'} deploy scenario Sentinel tables never queryable: stops after the bound")
    if problems:
        print("     " + "; ".join(problems) + "\n" + outs[0])
    return not problems


def sentinel_run(name, scenario, second, tables_after, exit_code, expect, seconds, handed_tables, tables_before=None):
    """deploy.sh with Sentinel: the preflight sees the scenario's tables (or `tables_before`), the first
    pass creates the product's, then `tables_after` is what the workspace lists when the second pass is refused."""
    with tempfile.TemporaryDirectory() as tmp:
        a = answers({}, scenario=scenario, second=second)
        a[TABLES] = {"__sequence__": [tables_before or a[TABLES]["__sequence__"][0], tables_after]}
        t = prepared(tmp, a)
        codes, outs, calls, handed = run(t)
    tries = sum(1 for c in calls if c == SECOND)
    given = handed[0].get("params-true.json", {}).get("parameters", {}).get("sentinelWorkspaceTables", {}).get("value")
    problems = [f"exit {codes[0]}, expected {exit_code}"] if codes[0] != exit_code else []
    problems += [f"{tries} second passes, expected {seconds}"] if tries != seconds else []
    problems += [f"no {e!r} in the output" for e in expect if e not in outs[0]]
    problems += [f"sentinelWorkspaceTables handed {given}, expected {handed_tables}"] if given != handed_tables else []
    print(f"{'ok  ' if not problems else 'FAIL'} deploy scenario {name}")
    if problems:
        print("     " + "; ".join(problems) + "\n" + outs[0])
    return not problems


def deploy_deletes_stale_subscriptions():
    """The preflight named this app's subscription under an earlier name: deleted after the second pass."""
    delete = ("eventgrid system-topic event-subscription delete --subscription 00000000-0000-0000-0000-0000000000a1 "
              "-g rg-bastion-prod --system-topic-name evgt-stbastrecprodrec01 -n RecordingCreated --yes")
    with tempfile.TemporaryDirectory() as tmp:
        a = answers({}, scenario="subscription-under-an-earlier-name")
        a[delete] = {}
        codes, outs, calls, _ = run(prepared(tmp, a))
    problems = [f"exit {codes[0]}"] if codes[0] else []
    if delete not in calls or SECOND not in calls or calls.index(delete) < calls.index(SECOND):
        problems.append("the old subscription was not deleted after the second pass")
    problems += [f"deleted another: az {c}" for c in calls if " delete " in f" {c} " and c != delete]
    print(f"{'ok  ' if not problems else 'FAIL'} deploy scenario an earlier version's subscription: deleted once the new ones exist")
    if problems:
        print("     " + "; ".join(problems) + "\n" + outs[0])
    return not problems


def stack_pass(name, scenario, env, second, exit_code, expect):
    """The second pass as `env` says (a stack update, detachAll, or the plain deployment); a preflight
    refusing a removal of data deploys nothing at all."""
    with tempfile.TemporaryDirectory() as tmp:
        a = answers({}, scenario=scenario)
        a[second] = {}
        codes, outs, calls, _ = run(prepared(tmp, a), extra=env)
    made = [c for c in calls if c.startswith(("deployment group create", "stack group create"))]
    problems = [f"exit {codes[0]}, expected {exit_code}"] if codes[0] != exit_code else []
    problems += [f"no {e!r} in the output" for e in expect if e not in outs[0]]
    if exit_code == 0 and (len(made) != 2 or made[1] != second):
        problems.append(f"deployed {made}, the second pass expected as az {second}")
    if exit_code != 0 and made:
        problems.append(f"deployed after a blocking preflight: {made}")
    print(f"{'ok  ' if not problems else 'FAIL'} deploy scenario {name}")
    if problems:
        print("     " + "; ".join(problems) + "\n" + outs[0])
    return not problems


def main():
    results = [
        deploy("first run: false in the file, then true once the key exists", {}, 0, ["deploy: done"], 1, check=passes),
        deploy("no system key: the subscriptions are never deployed", {}, 1, ["no eventgrid_extension key"], 1, key="",
               check=never_second),
        deploy("a new custom role not replicated yet: retried, then done",
               {}, 0, ["not replicated yet (attempt 1/3)", "deploy: done"], 1,
               first={"__sequence__": [NOT_REPLICATED, NOT_REPLICATED, f"{APP}\n{HOST}"]}),
        deploy("a role never replicated: stops after the bound", {}, 1, ["still not replicated after 3 attempts"], 0,
               first=NOT_REPLICATED),
        deploy("upload refused twice while roles propagate, then done", {"__sequence__": [REFUSED, REFUSED, {}]}, 0,
               ["attempt 1/4", "attempt 2/4", "deploy: done"], 3),
        deploy("upload refused beyond the bound", REFUSED, 1, ["still failing after 4 attempts"], 4),
        deploy("other upload failure stops at once", {"__error__": "ERROR: zip file is not valid"}, 1, ["zip file is not valid"], 1),
        deploy("blocking preflight deploys nothing", {}, 1, ["uses access policies"], 0, preflight_ok=False),
        twice("run twice, Sentinel off: both passes both times, the same deployments", None, None, ["deploy: done"]),
        twice("run twice, Sentinel on: the rules wait for their tables with a bounded back-off, then the same deployments again",
              "sentinel-ready", {"__sequence__": [TABLE_NOT_READY, {}]},
              ["refused a rule while its table is new (attempt 1/3)", "deploy: done"]),
        deploy_tables_never_ready(),
        sentinel_run("Sentinel workspace without StorageBlobLogs: every other rule deployed, the one left out named",
                     "sentinel-without-storage-blob-logs",
                     [{"rule": "recording-changed-in-logs", "displayName": "Azure Bastion: recording container changed (storage logs)",
                       "missingTables": ["StorageBlobLogs"]}], listed(*ours()), 0,
                     ["recording container changed (storage logs) not deployed: the workspace has no StorageBlobLogs", "deploy: done"],
                     1, []),
        sentinel_run("Sentinel workspace with StorageBlobLogs: handed over, so that rule is deployed",
                     "sentinel-without-storage-blob-logs", [], listed(*ours(), "StorageBlobLogs"), 0, ["deploy: done"], 1,
                     ["StorageBlobLogs"], tables_before=listed("SecurityEvent", "StorageBlobLogs")),
        sentinel_run("a table the rules need absent (custody logs not sent yet): stops at once, saying absent, not not-ready",
                     "sentinel-storage-blob-logs-sent-by-custody", TABLE_NOT_READY, listed(*ours()), 1,
                     ["StorageBlobLogs is absent from the workspace"], 1, ["StorageBlobLogs"]),
        deploy_deletes_stale_subscriptions(),
        stack_pass("a redeploy without features: the stack update removes what the preflight listed",
                   "stack-redeploy-without-features", {}, SECOND, 0,
                   ["Microsoft.Web/sites/config: no longer declared, deleted by the stack update",
                    "through the deployment stack bastion-recordings", "deploy: done"]),
        stack_pass("a renamed baseName: refused before anything is deployed", "stack-renamed-basename", {}, SECOND, 1,
                   ["the stack would delete this Microsoft.Storage/storageAccounts"]),
        stack_pass("the rename with DEPLOY_ACTION_ON_UNMANAGE=detachAll: the stack detaches instead",
                   "stack-renamed-basename-detached", {"DEPLOY_ACTION_ON_UNMANAGE": "detachAll"},
                   SECOND.replace("deleteResources", "detachAll"), 0, ["detached (left in place", "deploy: done"]),
        stack_pass("DEPLOY_WITH_STACK=false: the plain deployment, nothing removed", None, {"DEPLOY_WITH_STACK": "false"},
                   PLAIN_SECOND, 0, ["nothing the template no longer declares is removed", "deploy: done"]),
        stack_pass("an unknown DEPLOY_ACTION_ON_UNMANAGE: refused", None, {"DEPLOY_ACTION_ON_UNMANAGE": "deleteAll"}, SECOND, 2,
                   ["DEPLOY_ACTION_ON_UNMANAGE deleteResources or detachAll"]),
    ]
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Runs infra/deploy.sh against the stand-in `az` (and a stand-in `curl`) in a copy of infra/ with a
dummy dist/app.zip: each pass hands Resource Manager a JSON parameters file with deployEventSubscriptions
written into it (false first, true only after the system key exists; never an inline override of the
.bicepparam), a deployment refused while a new custom role replicates is retried with a bound, the
package upload waits while storage refuses it (role assignments propagating) and then goes on, stops at
once on any other failure, and nothing deploys after a blocking preflight.
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
REFUSED = {"__error__": "ERROR: Status Code: 400, Details: ... 'AuthorizationPermissionMismatch' (403) writing the package ..."}
NOT_REPLICATED = {"__error__": "ERROR: {\"code\": \"RoleDefinitionDoesNotExist\", \"message\": \"The specified role definition with ID 'f1a2' does not exist.\"}"}
FIRST = f"deployment group create -g {RG} -f infra/main.bicep -p @dist/deploy/params-false.json --query properties.outputs.functionAppName.value"
SECOND = f"deployment group create -g {RG} -f infra/main.bicep -p @dist/deploy/params-true.json"
KEYS = f"functionapp keys list -g {RG} -n {APP} --query systemKeys.eventgrid_extension"


def answers(zip_answer, preflight_ok=True, first=APP, key="key123"):
    base = json.loads((HERE / "base.json").read_text())
    a = dict(base["answers"])
    built = {"parameters": {k: {"value": v} for k, v in base["parameters"].items()}}
    a[f"bicep build-params --file {PARAMS} --stdout"] = {"parametersJson": json.dumps(built)}
    if not preflight_ok:
        a["keyvault show -g rg-bastrec-prod -n kv-bastrec-prod"] = {"properties": {"enableRbacAuthorization": False}}
    a[FIRST] = first
    a[f"functionapp deployment source config-zip -g {RG} -n {APP} --src dist/app.zip"] = zip_answer
    a[KEYS] = key
    a[SECOND] = {}
    return a


def deploy(name, zip_answer, exit_code, expect, calls_of_zip, preflight_ok=True, first=APP, key="key123", check=None):
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        shutil.copytree(ROOT / "infra", t / "infra", ignore=shutil.ignore_patterns("tests"))
        (t / "dist").mkdir()
        (t / "dist/app.zip").write_bytes(b"PK")
        (t / "bin").mkdir()
        (t / "bin/curl").write_text("#!/bin/sh\nexit 0\n")
        (t / "bin/curl").chmod(0o755)
        (t / "answers.json").write_text(json.dumps(answers(zip_answer, preflight_ok, first, key)))
        (t / "handed").mkdir()
        env = {**os.environ, "PATH": f"{HERE}:{t / 'bin'}:{os.environ['PATH']}", "DEPLOY_ZIP_WAIT_SECONDS": "0",
               "DEPLOY_ZIP_ATTEMPTS": "4", "DEPLOY_ROLE_WAIT_SECONDS": "0", "DEPLOY_ROLE_ATTEMPTS": "3",
               "DEPLOY_KEY_WAIT_SECONDS": "0", "DEPLOY_KEY_ATTEMPTS": "3",
               "PREFLIGHT_ANSWERS": str(t / "answers.json"), "PREFLIGHT_CALLS": str(t / "calls"),
               "PREFLIGHT_FILES": str(t / "handed")}
        proc = subprocess.run([str(t / "infra/deploy.sh"), RG, PARAMS], cwd=t, env=env,
                              capture_output=True, text=True, check=False)
        calls = (t / "calls").read_text().splitlines()
        handed = {f.name: json.loads(f.read_text()) for f in (t / "handed").iterdir()}
    out = proc.stdout + proc.stderr
    zips = sum(1 for c in calls if "config-zip" in c)
    problems = [f"exit {proc.returncode}, expected {exit_code}"] if proc.returncode != exit_code else []
    problems += [f"no {e!r} in the output" for e in expect if e not in out]
    if zips != calls_of_zip:
        problems.append(f"{zips} package uploads, expected {calls_of_zip}")
    problems += [f"an inline parameter override: az {c}" for c in calls if "deployment group create" in c and " -p " in c
                 and any(p.startswith("deployEventSubscriptions=") for p in c.split())]
    if check:
        problems += check(calls, handed)
    print(f"{'ok  ' if not problems else 'FAIL'} deploy scenario {name}")
    if problems:
        print("     " + "; ".join(problems) + "\n" + out)
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


def main():
    results = [
        deploy("first run: false in the file, then true once the key exists", {}, 0, ["deploy: done"], 1, check=passes),
        deploy("no system key: the subscriptions are never deployed", {}, 1, ["no eventgrid_extension key"], 1, key="",
               check=never_second),
        deploy("a new custom role not replicated yet: retried, then done",
               {}, 0, ["not replicated yet (attempt 1/3)", "deploy: done"], 1,
               first={"__sequence__": [NOT_REPLICATED, NOT_REPLICATED, APP]}),
        deploy("a role never replicated: stops after the bound", {}, 1, ["still not replicated after 3 attempts"], 0,
               first=NOT_REPLICATED),
        deploy("upload refused twice while roles propagate, then done", {"__sequence__": [REFUSED, REFUSED, {}]}, 0,
               ["attempt 1/4", "attempt 2/4", "deploy: done"], 3),
        deploy("upload refused beyond the bound", REFUSED, 1, ["still failing after 4 attempts"], 4),
        deploy("other upload failure stops at once", {"__error__": "ERROR: zip file is not valid"}, 1, ["zip file is not valid"], 1),
        deploy("blocking preflight deploys nothing", {}, 1, ["uses access policies"], 0, preflight_ok=False),
    ]
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

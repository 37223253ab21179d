"""Runs infra/deploy.sh against the stand-in `az` (and a stand-in `curl`) in a copy of infra/ with a
dummy dist/app.zip: the package upload waits while storage refuses it (role assignments propagating)
and then goes on, stops at once on any other failure, and nothing deploys after a blocking preflight.
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


def answers(zip_answer, preflight_ok=True):
    base = json.loads((HERE / "base.json").read_text())
    a = dict(base["answers"])
    built = {"parameters": {k: {"value": v} for k, v in base["parameters"].items()}}
    a[f"bicep build-params --file {PARAMS} --stdout"] = {"parametersJson": json.dumps(built)}
    if not preflight_ok:
        a["keyvault show -g rg-bastrec-prod -n kv-bastrec-prod"] = {"properties": {"enableRbacAuthorization": False}}
    a[f"deployment group create -g {RG} -f infra/main.bicep -p {PARAMS} -p deployEventSubscriptions=false --query properties.outputs.functionAppName.value"] = APP
    a[f"functionapp deployment source config-zip -g {RG} -n {APP} --src dist/app.zip"] = zip_answer
    a[f"functionapp keys list -g {RG} -n {APP} --query systemKeys.eventgrid_extension"] = "key123"
    a[f"deployment group create -g {RG} -f infra/main.bicep -p {PARAMS} -p deployEventSubscriptions=true"] = {}
    return a


def deploy(name, zip_answer, exit_code, expect, calls_of_zip, preflight_ok=True):
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        shutil.copytree(ROOT / "infra", t / "infra", ignore=shutil.ignore_patterns("tests"))
        (t / "dist").mkdir()
        (t / "dist/app.zip").write_bytes(b"PK")
        (t / "bin").mkdir()
        (t / "bin/curl").write_text("#!/bin/sh\nexit 0\n")
        (t / "bin/curl").chmod(0o755)
        (t / "answers.json").write_text(json.dumps(answers(zip_answer, preflight_ok)))
        env = {**os.environ, "PATH": f"{HERE}:{t / 'bin'}:{os.environ['PATH']}", "DEPLOY_ZIP_WAIT_SECONDS": "0",
               "DEPLOY_ZIP_ATTEMPTS": "4", "PREFLIGHT_ANSWERS": str(t / "answers.json"), "PREFLIGHT_CALLS": str(t / "calls")}
        proc = subprocess.run([str(t / "infra/deploy.sh"), RG, PARAMS], cwd=t, env=env,
                              capture_output=True, text=True, check=False)
        calls = (t / "calls").read_text().splitlines()
    out = proc.stdout + proc.stderr
    zips = sum(1 for c in calls if "config-zip" in c)
    problems = [f"exit {proc.returncode}, expected {exit_code}"] if proc.returncode != exit_code else []
    problems += [f"no {e!r} in the output" for e in expect if e not in out]
    if zips != calls_of_zip:
        problems.append(f"{zips} package uploads, expected {calls_of_zip}")
    print(f"{'ok  ' if not problems else 'FAIL'} deploy scenario {name}")
    if problems:
        print("     " + "; ".join(problems) + "\n" + out)
    return not problems


def main():
    results = [
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

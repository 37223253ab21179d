"""Runs infra/preflight.sh against the stand-in `az` here, once per scenario in scenarios/.

Each scenario is base.json (an estate where every check passes) with its `answers` and `parameters`
replaced (`paramsFileText`: a parameter file of its own); it names the exit code, the texts the output must
contain (`expect`) and must not (`absent`), and environment variables of its own (`env`, those
infra/deploy.sh hands down). Every az call must be read-only.
Run: python3 infra/tests/preflight/run.py   (scripts/ci-infra.sh does; under a second).
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
READ_ONLY = re.compile(
    r"^(bicep build-params --file \S+ --stdout|account show|group show -n \S+|functionapp list-flexconsumption-(locations|runtimes)\b.*"
    r"|rest --method get --url \S+|network bastion show .*|storage account show .*|monitor diagnostic-settings list .*|keyvault show .*"
    r"|eventgrid system-topic list .*|eventgrid system-topic event-subscription list .*|functionapp list .*|storage account list .*"
    r"|stack group show .*|deployment group what-if .*)$")


def run(name, scenario, base):
    params = {**base["parameters"], **scenario.get("parameters", {})}
    answers = {**base["answers"], **scenario.get("answers", {})}
    built = {"parameters": {k: {"value": v} for k, v in params.items()}}
    answers[f"bicep build-params --file {base['paramsFile']} --stdout"] = {"parametersJson": json.dumps(built)}
    params_file = base["paramsFile"]
    with tempfile.TemporaryDirectory() as tmp:
        if "paramsFileText" in scenario:  # a parameter file of its own (e.g. an earlier version's)
            params_file = str(Path(tmp) / "old.bicepparam")
            Path(params_file).write_text(scenario["paramsFileText"])
        (Path(tmp) / "answers.json").write_text(json.dumps(answers))
        env = {**os.environ, "PATH": f"{HERE}:{os.environ['PATH']}",
               "PREFLIGHT_ANSWERS": str(Path(tmp) / "answers.json"), "PREFLIGHT_CALLS": str(Path(tmp) / "calls"),
               **scenario.get("env", {})}
        proc = subprocess.run([str(ROOT / "infra/preflight.sh"), params_file, base["resourceGroup"]],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        calls = (Path(tmp) / "calls").read_text().splitlines() if (Path(tmp) / "calls").exists() else []
    problems = []
    if proc.returncode != scenario["exit"]:
        problems.append(f"exit {proc.returncode}, expected {scenario['exit']}")
    problems += [f"no {text!r} in the output" for text in scenario["expect"] if text not in proc.stdout + proc.stderr]
    problems += [f"{text!r} in the output" for text in scenario.get("absent", []) if text in proc.stdout + proc.stderr]
    problems += [f"not read-only: az {c}" for c in calls if not READ_ONLY.match(c)]
    report = f"{'ok  ' if not problems else 'FAIL'} preflight scenario {name}"
    if problems:
        report += "\n     " + "; ".join(problems) + "\n" + proc.stdout + proc.stderr
    return report, not problems


def main():
    base = json.loads((HERE / "base.json").read_text())
    files = sorted((HERE / "scenarios").glob("*.json"))
    with ThreadPoolExecutor(4) as pool:  # each scenario runs in its own temporary directory
        reports = list(pool.map(lambda f: run(f.stem, json.loads(f.read_text()), base), files))
    print("\n".join(r for r, _ in reports))
    results = [ok for _, ok in reports]
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

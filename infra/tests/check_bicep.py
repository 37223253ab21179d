"""Structural checks of infra/ that `bicep build` would partly do (no Bicep CLI is installable offline),
plus this project's invariants. Parses every .bicep file with pycep (the parser checkov uses).

Run: .tools/venv/bin/python infra/tests/check_bicep.py   (scripts/ci-infra.sh does). Prints one line per
check and a closing "N passed, N failed"; exits 1 on any failure.
"""

import glob
import json
import re
import sys
import tomllib
from pathlib import Path

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")
RESULTS = []


def check(name):
    def wrap(fn):
        try:
            fn()
            RESULTS.append((name, None))
        except Exception as e:  # noqa: BLE001 - report every failing check, not only the first
            RESULTS.append((name, f"{type(e).__name__}: {e}"))
        return fn
    return wrap


def parse_all():
    out, errors = {}, []
    for f in sorted(glob.glob(str(INFRA / "**/*.bicep"), recursive=True)):
        try:
            out[Path(f)] = BicepParser().parse(text=Path(f).read_text())
        except Exception as e:  # noqa: BLE001
            errors.append(f"{Path(f).relative_to(ROOT)}: {str(e).splitlines()[0]}")
    return out, errors


TREES, PARSE_ERRORS = parse_all()
MAIN = TREES.get(INFRA / "main.bicep", {})
TEXT = {p: p.read_text() for p in TREES}


@check("every .bicep file parses")
def _():
    assert not PARSE_ERRORS, PARSE_ERRORS
    assert len(TREES) >= 10, f"only {len(TREES)} files"


@check("parameters and outputs are camelCase and described")
def _():
    bad = []
    for path, tree in TREES.items():
        for kind in ("parameters", "outputs"):
            for name, spec in (tree.get(kind) or {}).items():
                described = any(d.get("type") == "description" for d in spec.get("decorators", []))
                if not CAMEL.match(name) or not described:
                    bad.append(f"{path.name}: {kind[:-1]} {name}")
    assert not bad, bad


@check("module calls pass exactly the declared parameters")
def _():
    bad = []
    for path, tree in TREES.items():
        for sym, mod in (tree.get("modules") or {}).items():
            target = (path.parent / mod["detail"]["path"]).resolve()
            if target not in TREES:
                bad.append(f"{path.name}:{sym}: no file {target}")
                continue
            declared = TREES[target].get("parameters") or {}
            config = mod["config"].get("config", mod["config"])  # conditional modules nest it
            passed = set((config.get("params") or {}).keys())
            required = {n for n, s in declared.items() if s.get("default") is None}
            for n in sorted(passed - set(declared)):
                bad.append(f"{path.name}:{sym}: unknown param {n}")
            for n in sorted(required - passed):
                bad.append(f"{path.name}:{sym}: missing param {n}")
    assert not bad, bad


@check("every .bicepparam sets only real, and all required, parameters, and names its sources")
def _():
    params = MAIN.get("parameters") or {}
    required = {n for n, s in params.items() if s.get("default") is None}
    files = sorted(INFRA.glob("params/*.bicepparam"))
    assert files, "no params/*.bicepparam"
    for f in files:
        text = f.read_text()
        assert "using '../main.bicep'" in text, f"{f.name}: must be `using '../main.bicep'`"
        given = set(re.findall(r"^param (\w+) =", text, re.M))
        assert given <= set(params), f"{f.name}: unknown {sorted(given - set(params))}"
        assert required <= given, f"{f.name}: missing {sorted(required - given)}"


@check("default resource names respect Azure length rules")
def _():
    p = MAIN["parameters"]
    base = next(d["argument"] for d in p["baseName"]["decorators"] if d["type"] == "max_length")
    env = max(len(e) for e in next(d["argument"] for d in p["environment"]["decorators"] if d["type"] == "allowed"))
    text = TEXT[INFRA / "main.bicep"]
    assert "'st${toLower(baseName)}${environment}${take(uniqueString(resourceGroup().id), 6)}'" in text
    assert 2 + base + env + 6 <= 24, "storage account name can exceed 24"
    assert "'func-${toLower(baseName)}-${environment}-${take(uniqueString(resourceGroup().id), 6)}'" in text
    assert 5 + base + 1 + env + 1 + 6 <= 60, "function app name can exceed 60"
    assert 5 + 24 <= 128, "system topic name"


def function_bindings():
    out = {}
    for f in sorted((ROOT / "functions").glob("*/function.json")):
        out[f.parent.name] = json.loads(f.read_text())["bindings"]
    return out


@check("each eventGridTrigger function has exactly one subscription (per source), and only those")
def _():
    grid = {n for n, b in function_bindings().items() if any(x["type"] == "eventGridTrigger" for x in b)}
    subs = re.findall(r"function: '(\w+)'", TEXT[INFRA / "main.bicep"])
    assert sorted(subs) == sorted(grid), f"subscriptions {sorted(subs)} vs eventGridTrigger functions {sorted(grid)}"


@check("every queue a function uses is created")
def _():
    used = {x["queueName"] for b in function_bindings().values() for x in b if x["type"] in ("queue", "queueTrigger")}
    created = set(MAIN["variables"]["queues"]["value"])
    assert used <= created, f"missing queues {sorted(used - created)}"


@check("Event Grid filters: BlobCreated (+ BlobDeleted for recordings), trailing slash, PT1H.json, api filter, no contentLength filter")
def _():
    eg = TEXT[INFRA / "modules/eventgrid.bicep"]
    main = TEXT[INFRA / "main.bicep"]
    assert "includedEventTypes: s.eventTypes" in eg
    assert "subjectBeginsWith: '/blobServices/default/containers/${s.container}/'" in eg
    assert "contentLength" not in re.sub(r"//.*", "", eg + main), "never filter on contentLength"
    v = MAIN["variables"]
    rec = v["recordingSubscriptions"]["value"][0]
    audit = v["auditLogSubscriptions"]["value"][0]
    flt = rec["advancedFilters"][0]
    assert (flt["operatorType"], flt["key"]) == ("StringIn", "data.api")
    # FlushWithClose: a hierarchical-namespace account's committed write; never CreateFile (an empty file).
    # DeleteBlob/DeleteFile: recordings are subscribed to BlobDeleted too (deletions outside retention).
    assert sorted(flt["values"]) == ["CopyBlob", "DeleteBlob", "DeleteFile", "FlushWithClose", "PutBlob",
                                     "PutBlockList"], flt["values"]
    assert rec["eventTypes"] == ["Microsoft.Storage.BlobCreated", "Microsoft.Storage.BlobDeleted"]
    assert audit["eventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert audit["subjectEndsWith"] == "PT1H.json" and audit["advancedFilters"] == []


@check("Event Grid delivery: retry policy and identity-based dead letter on every subscription")
def _():
    eg = TEXT[INFRA / "modules/eventgrid.bicep"]
    for needle in ("retryPolicy:", "maxDeliveryAttempts: maxDeliveryAttempts", "eventTimeToLiveInMinutes:",
                   "deadLetterWithResourceIdentity:", "blobContainerName: deadLetterContainer",
                   "/runtime/webhooks/eventgrid?functionName=${s.function}&code="):
        assert needle in eg, needle


@check("least privilege: the recordings and audit-log roles have exactly the five data actions")
def _():
    prefix = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/"
    for module in ("recordings-access.bicep", "auditlogs-access.bicep"):
        actions = MAIN and TREES[INFRA / "modules" / module]["variables"]["dataActions"]["value"]
        assert sorted(actions) == sorted(prefix + a for a in ("read", "delete", "tags/read", "tags/write", "filter/action")), module
        assert "actions: []" in TEXT[INFRA / "modules" / module], f"{module}: no control-plane actions"


# Flex Consumption limits as Microsoft Learn states them: maximum instance count "must be set to a value
# between 1 and 1,000" (default 100), and "Reducing maximum instance count below 40 for HTTP function
# apps can cause frequent request failures" (Migrate Consumption plan apps to the Flex Consumption plan);
# instance memory sizes 512 MB, 2,048 MB and 4,096 MB (Flex Consumption plan hosting, Instance memory).
FLEX_MAX_INSTANCES = (1, 1000)
FLEX_HTTP_MIN_INSTANCES = 40
FLEX_MEMORY_MB = {512, 2048, 4096}


def decorator(spec, kind):
    return next((d["argument"] for d in spec.get("decorators", []) if d["type"] == kind), None)


@check("Flex Consumption limits: instance count and memory in main.bicep, functionapp.bicep and every params file")
def _():
    http = any(x["type"] == "httpTrigger" for b in function_bindings().values() for x in b)
    low = FLEX_HTTP_MIN_INSTANCES if http else FLEX_MAX_INSTANCES[0]
    app = TREES[INFRA / "modules/functionapp.bicep"]["parameters"]
    for name, spec in (("main.bicep", MAIN["parameters"]), ("functionapp.bicep", app)):
        count, memory = spec["maximumInstanceCount"], spec["instanceMemoryMB"]
        assert (decorator(count, "min_value"), decorator(count, "max_value")) == FLEX_MAX_INSTANCES, name
        assert set(decorator(memory, "allowed")) <= FLEX_MEMORY_MB, f"{name}: instanceMemoryMB {decorator(memory, 'allowed')}"
    defaults = MAIN["parameters"]
    for f in sorted(INFRA.glob("params/*.bicepparam")):
        text = f.read_text()
        count = re.search(r"^param maximumInstanceCount = (\d+)", text, re.M)
        memory = re.search(r"^param instanceMemoryMB = (\d+)", text, re.M)
        n = int(count.group(1)) if count else int(defaults["maximumInstanceCount"]["default"])
        m = int(memory.group(1)) if memory else int(defaults["instanceMemoryMB"]["default"])
        assert low <= n <= FLEX_MAX_INSTANCES[1], f"{f.name}: maximumInstanceCount {n} outside {low}-{FLEX_MAX_INSTANCES[1]}"
        assert m in FLEX_MEMORY_MB, f"{f.name}: instanceMemoryMB {m}"


@check("Storage Blob Delegator follows the download-links switch that sets CATALOGUE_DOWNLOAD_LINKS")
def _():
    assert "grantDelegator: catalogueDownloadLinks" in TEXT[INFRA / "main.bicep"]
    assert "CATALOGUE_DOWNLOAD_LINKS: catalogueDownloadLinks ? 'true' : 'false'" in TEXT[INFRA / "modules/functionapp.bicep"]


@check("no keys: shared key off on the app account; listKeys only for the Event Grid system key")
def _():
    assert "allowSharedKeyAccess: false" in TEXT[INFRA / "modules/storage.bicep"]
    users = [p.name for p, t in TEXT.items() if "listKeys" in re.sub(r"//.*", "", t)]
    assert users == ["eventgrid.bicep"], users
    joined = "\n".join(TEXT.values()).lower()
    assert "accountkey" not in joined and "connectionstring: 'defaultendpointsprotocol" not in joined


@check("recordings container: never versioning or immutability (only the product's own evidence container has a policy)")
def _():
    storage = INFRA / "modules/storage.bicep"
    joined = "\n".join(t for f, t in TEXT.items() if f != storage)
    for needle in ("isVersioningEnabled", "immutabilityPolic", "immutableStorageWithVersioning"):
        assert needle not in joined, needle
    own = TEXT[storage]
    assert "isVersioningEnabled" not in own and "immutableStorageWithVersioning" not in own
    policies = [r for r in own.split("resource ") if "immutabilityPolicies@" in r]
    assert len(policies) == 1 and "parent: evidence" in policies[0], "one policy, on the evidence container"
    rec = TEXT[INFRA / "modules/recordings-access.bicep"]
    assert re.search(r"containers@[\w-]+' existing", rec), "the recordings container is only referenced"


@check("timers of unconfigured features are disabled, and each switch names a real function")
def _():
    text = TEXT[INFRA / "modules" / "functionapp.bicep"]
    switched = set(re.findall(r"'AzureWebJobs\.([A-Za-z]+)\.Disabled'", text))
    assert switched == {"AuditLogQuery", "EstateCheck", "LiveSessions", "SentinelExport", "CustodyActor"}, switched
    for name in switched:
        assert (ROOT / "functions" / name / "function.json").is_file(), name
    assert "value: empty(logAnalyticsWorkspaces) ? 'true' : 'false'" in text
    assert "value: empty(custodyWorkspaceId) ? 'true' : 'false'" in text
    assert "var estateOff = empty(bastionHosts)" in text
    assert "concat(settingList, sourceConnections, functionSwitches)" in text


@check("lifecycle-policy.json: tag-matched tiering for known classes, no delete, nothing for legal-hold")
def _():
    policy = json.loads((INFRA / "lifecycle-policy.json").read_text())
    source = (ROOT / "src/catalogue/policy/model.rs").read_text()
    default = source[source.index("DEFAULT_POLICY"):]
    classes = set(tomllib.loads(default[default.index('r#"') + 3 : default.index('"#;')])["classes"])
    tags = (ROOT / "src/catalogue/policy/mod.rs").read_text()
    tag = re.search(r'pub const TAG_CLASS: &str = "([^"]+)"', tags).group(1)
    rules = policy["rules"]
    assert 0 < len(rules) <= 100
    seen = set()
    for r in rules:
        d = r["definition"]
        match = d["filters"]["blobIndexMatch"]
        assert d["filters"]["blobTypes"] == ["blockBlob"], r["name"]
        assert [(m["name"], m["op"]) for m in match] == [(tag, "==")], r["name"]
        cls = match[0]["value"]
        assert cls in classes, f"{cls} is not a class of DEFAULT_POLICY {sorted(classes)}"
        seen.add(cls)
        actions = d["actions"]["baseBlob"]
        assert "delete" not in json.dumps(d["actions"]), f"{r['name']}: deletion belongs to RetentionSweep"
        assert actions, r["name"]
    # A held recording must stay readable and untouched: no rule may match the hold class.
    assert "legal-hold" not in seen


sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from arm_rules import register as register_arm  # noqa: E402 - the checks above come first
from deployment_checks import register as register_deployment  # noqa: E402
from sentinel_checks import register as register_sentinel  # noqa: E402
from sources_model import register  # noqa: E402

register_deployment(check, MAIN, TEXT, INFRA)
register_arm(check, MAIN, TEXT, INFRA)
register_sentinel(check, MAIN, TEXT, INFRA)
register(check, MAIN, TEXT, INFRA)

for name, err in RESULTS:
    print(f"{'ok  ' if err is None else 'FAIL'} {name}" + ("" if err is None else f"\n     {err}"))
failed = sum(1 for _, e in RESULTS if e)
print(f"{len(RESULTS) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)

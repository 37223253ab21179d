"""check_bicep.py's checks of how Resource Manager evaluates and re-runs these templates.

No Bicep compiler can run here, so what `az bicep build` and a real deployment would reveal is written
down as rules, each with the fact it rests on (RULE_SOURCES) and a check over the templates. They cover
what a deployment that compiles can still get wrong: an index into an empty module collection, a
skipped module's scope, a saved search re-deployed without an etag, content created before its tables
exist, deployment names shared across locations and instances, and the settings the app is handed.
"""

import re

RULE_SOURCES = {
    "literal-index": "Resource Manager validates every dependsOn a template carries, and the Bicep compiler emits one on a "
                     "whole module or resource collection for any reference into it: an index into a collection that is "
                     "empty (a loop over []) fails validation out of bounds, guarded by `?:` or not.",
    "conditional-scope": "A skipped module (condition false) is still a Microsoft.Resources/deployments resource whose id "
                         "Resource Manager evaluates during validation, so its scope must parse when the condition is false.",
    "saved-search-etag": "The Log Analytics service refuses a PUT over an existing saved search (409 Conflict) unless its "
                         "properties carry the current etag or '*'.",
    "second-pass-content": "Microsoft Sentinel validates a scheduled rule's query when the rule is created and refuses it while "
                           "a table it reads is not yet queryable (\"One of the tables does not exist\"), which a custom table "
                           "is for minutes after its creation.",
    "rule-tables-present": "Microsoft Sentinel refuses a scheduled rule whose query names a table the workspace does not have "
                           "(Azure-Sentinel issues #8905, #6681); a Microsoft table such as StorageBlobLogs exists only where "
                           "some diagnostic setting sends it to the workspace. A table read only inside `union isfuzzy=true` "
                           "may be absent (Kusto union operator: isfuzzy resolves only the legs that exist).",
    "deployment-names": "A deployment name is unique within its scope; a subscription-scope deployment also keeps the location "
                        "it was made in and one of the same name from another location is refused (InvalidDeploymentLocation); "
                        "in a resource group shared by two instances of the product, one name means one record, replaced "
                        "or refused while the other runs.",
    "one-host-list": "The handler watches BASTION_HOSTS, or when it is unset the hosts its sources name by resource id; "
                     "a watched host without the custom roles answers 403 to every estate check.",
    "names-lower-case": "A storage account name takes lower-case letters and digits only (3-24).",
    "platform-auth-client": "App Service authentication's Microsoft Entra provider validates tokens for its client id; "
                            "without one it authenticates nobody.",
}

MAIN = "main.bicep"


def code(text):
    return re.sub(r"//.*", "", text)


def declarations(source):
    """Top-level `module|resource|var|output` declarations: (kind, symbol, header line, body text)."""
    out = []
    starts = [m for m in re.finditer(r"^(module|resource|var|output|param) (\w+)(.*)$", source, re.M)]
    for k, m in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(source)
        out.append((m.group(1), m.group(2), m.group(0), source[m.start():end]))
    return out


def collections(source):
    """Module and resource symbols declared as loops: symbol -> the list looped over."""
    out = {}
    for kind, sym, header, body in declarations(source):
        if kind not in ("module", "resource") or not header.rstrip().endswith("= ["):
            continue
        loop = re.search(r"^\s*for (?:\((\w+), (\w+)\)|(\w+)) in ([^:]+):", body, re.M)
        if loop:
            out[sym] = loop.group(4).strip()
    return out


def index_problems(source, name):
    """Every `<collection>[<index>]` that is not `[i]` inside a loop over the same list with index `i`."""
    colls = collections(source)
    bad = []
    for kind, sym, header, body in declarations(source):
        loop = re.search(r"^\s*for \((\w+), (\w+)\) in ([^:]+):", body, re.M)
        for m in re.finditer(r"\b(\w+)(!?)\[([^\]]+)\]", body):
            coll, index = m.group(1), m.group(3).strip()
            if coll not in colls or m.start() == 0:
                continue
            own = loop is not None and index == loop.group(2) and loop.group(3).strip() == colls[coll]
            if not own:
                bad.append(f"{name}: {sym} reads {coll}[{index}] outside a loop over {colls[coll]}")
    return bad


def register(check, main, text, infra):
    """Adds these checks to check_bicep's report."""
    files = {p.relative_to(infra).as_posix(): code(t) for p, t in text.items()}
    m = files[MAIN]
    deploy = (infra / "deploy.sh").read_text()

    @check("ARM rule literal-index: a module or resource collection is indexed only by its own loop's index")
    def _():
        bad = [b for name, src in files.items() for b in index_problems(src, name)]
        assert not bad, f"{bad} ({RULE_SOURCES['literal-index']})"

    @check("ARM rule conditional-scope: a conditional module's scope parses with its condition false")
    def _():
        bad = []
        for name, src in files.items():
            defs = {s: b for k, s, _, b in declarations(src) if k == "var"}
            for kind, sym, header, body in declarations(src):
                if kind != "module" or "= if (" not in header:
                    continue
                for var in set(re.findall(r"split\((\w+), '/'\)\[\d\]", body.split("params:")[0])):
                    fallback = defs.get(var, "")
                    if not re.search(r"\? \w+ : resourceGroup\(\)\.id\s*$", fallback.strip()):
                        bad.append(f"{name}: {sym} splits {var}, which has no resource group fallback")
        assert not bad, f"{bad} ({RULE_SOURCES['conditional-scope']})"
        # The Sentinel module is that single conditional module, read behind `!` where it is on.
        assert "module sentinel 'modules/sentinel.bicep' = if (sentinelOn) {" in m
        assert "var sentinelScopeId = sentinelOn ? sentinelWorkspaceId : resourceGroup().id" in m
        reads = re.findall(r"\bsentinel(!?)\.outputs\.", m)
        assert reads and all(r == "!" for r in reads), "read a conditional module's outputs as sentinel!.outputs"

    @check("ARM rule saved-search-etag: every saved search is written with etag '*'")
    def _():
        bad, seen = [], 0
        for name, src in files.items():
            for kind, sym, header, body in declarations(src):
                if kind == "resource" and "'Microsoft.OperationalInsights/workspaces/savedSearches@" in header and "existing" not in header:
                    seen += 1
                    props = body.split("properties: {", 1)[-1]
                    if not re.search(r"^\s+etag: '\*'$", props, re.M):
                        bad.append(f"{name}: {sym}")
        assert seen, "no saved search found"
        assert not bad, f"{bad} ({RULE_SOURCES['saved-search-etag']})"

    @check("ARM rule second-pass-content: rules, parsers and workbook only in the second pass, the table error retried with a bound")
    def _():
        assert "content: sentinelContent && deployEventSubscriptions" in m, RULE_SOURCES["second-pass-content"]
        sentinel = files["modules/sentinel.bicep"]
        for kind, sym, header, body in declarations(sentinel):
            if any(t in header for t in ("SecurityInsights/alertRules@", "workspaces/savedSearches@", "Insights/workbooks@")):
                assert re.search(r"(= if \(content[) ]|: if \(content[) ])", header + body.split("\n", 3)[1]), f"{sym} without `if (content)`"
        assert "One of the tables does not exist" in deploy, "deploy.sh retries the table error"
        assert "DEPLOY_TABLE_ATTEMPTS" in deploy and "DEPLOY_TABLE_WAIT_SECONDS" in deploy, "a bounded back-off"

    @check("ARM rule rule-tables-present: a rule goes only where each Microsoft table it reads is, the others are named")
    def _():
        import json
        root = infra.parent
        ours = {t["name"] for t in json.loads((root / "sentinel/tables.json").read_text())["tables"]}
        theirs = {t["name"] for t in json.loads((root / "sentinel/workspace-tables.json").read_text())["tables"]}
        for r in json.loads((root / "sentinel/rules/rules.json").read_text())["rules"]:
            kql = re.sub(r"//.*", "", (root / f"sentinel/rules/{r['name']}.kql").read_text())
            named = {t for t in theirs if re.search(r"\b%s\b" % t, kql)}
            fuzzy = "union isfuzzy=true" in kql
            need = set(r["requiresTables"])
            assert not need & ours, f"{r['name']}: the product's own tables are always there"
            assert need <= named, f"{r['name']}: requiresTables {sorted(need - named)} not read by the query"
            assert fuzzy or named <= need, f"{r['name']}: reads {sorted(named - need)} outside a fuzzy union, not in requiresTables ({RULE_SOURCES['rule-tables-present']})"
        sentinel = files["modules/sentinel.bicep"]
        assert "var missingTables = [for r in rules: filter(r.requiresTables, t => !contains(presentTables, t))]" in sentinel
        assert "for (r, i) in rules: if (content && empty(missingTables[i])) {" in sentinel, RULE_SOURCES["rule-tables-present"]
        assert "output skippedRules array = filter(skipped, x => !empty(x))" in sentinel
        assert "presentTables: sentinelPresentTables" in m
        assert "var sentinelPresentTables = union(sentinelWorkspaceTables," in m
        assert "output sentinelRulesSkipped array = sentinelOn ? sentinel!.outputs.skippedRules : []" in m
        # deploy.sh hands the preflight's tables over and tells an absent table from one not ready yet.
        assert "sentinelWorkspaceTables" in deploy and "absent from" in deploy, "deploy.sh: table absent vs not ready"

    @check("ARM rule deployment-names: deployments outside the app's resource group are named per app and scope")
    def _():
        bad = []
        for name, src in files.items():
            for kind, sym, header, body in declarations(src):
                if kind != "module":
                    continue
                scope = re.search(r"^\s+scope: (.+)$", body, re.M)
                dep = re.search(r"^\s+name: (.+)$", body, re.M).group(1)
                if scope is None:
                    continue  # the deploying template's own resource group
                where = scope.group(1)
                if name == MAIN and "uniqueString(resourceGroup().id" not in dep:
                    bad.append(f"{name}: {sym} ({dep}) at {where}")
                elif "uniqueString(" not in dep:
                    bad.append(f"{name}: {sym} ({dep}) at {where}")
                if re.search(r"utcNow\(|newGuid\(", dep):
                    bad.append(f"{name}: {sym} is named anew on every run ({dep})")
                if where.startswith("subscription(") and "resourceGroup().location" not in dep:
                    bad.append(f"{name}: {sym} at subscription scope, its name without the location")
        assert not bad, f"{bad} ({RULE_SOURCES['deployment-names']})"

    @check("ARM rule one-host-list: every watched Bastion host is the one list the app gets and the grants loop over")
    def _():
        assert "var watchedHostList = empty(bastionHosts) ? sourceHostIds : bastionHosts" in m
        assert "bastionHosts: join(watchedHosts, ',')" in m
        assert "for (id, i) in watchedHosts: {" in m and "[for id in watchedHosts: toLower(split(id, '/')[2])]" in m
        assert "for (g, i) in recordingGroups: if (!empty(watchedHosts)) {" in m
        assert not re.search(r"in bastionHosts\b", m), "a grant loop over bastionHosts alone"
        app = files["modules/functionapp.bicep"]
        assert "var estateOff = empty(bastionHosts)\n" in app, RULE_SOURCES["one-host-list"]
        assert "sourceHostIds" not in app, "the app must not watch hosts main.bicep does not grant"

    @check("ARM rule names-lower-case: baseName reaches names lower-cased; DCE follows the networking mode; deploy.sh uses the host name output")
    def _():
        bare = [x for x in re.findall(r"\$\{(baseName)\}", m)]
        assert not bare, f"baseName used as given in a name ({RULE_SOURCES['names-lower-case']})"
        assert "publicNetworkAccess: !enablePrivateNetworking" in m.split("module sentinel ")[1].split("\n}\n")[0]
        assert "publicNetworkAccess: publicNetworkAccess ? 'Enabled' : 'Disabled'" in files["modules/sentinel.bicep"]
        assert "azurewebsites.net" not in code(deploy), "deploy.sh builds the host name instead of reading functionAppHostName"
        assert "functionAppHostName" in deploy

    @check("ARM rule platform-auth-client: catalogueAuth platform without a client id fails before any resource")
    def _():
        assert ("var catalogueAuthMode = catalogueAuth == 'platform' && empty(catalogueAuthClientId) ? "
                "[catalogueAuth][indexOf([catalogueAuth], ") in m, RULE_SOURCES["platform-auth-client"]
        assert "    catalogueAuth: catalogueAuthMode\n" in m

"""check_bicep.py's checks of the Microsoft Sentinel modules (modules/sentinel.bicep, modules/sentinel-access.bicep)
against the one table declaration (sentinel/tables.json), the rule and parser files and the facts of the
resource types they deploy.

The KQL itself (rules, parser, workbook queries) is checked by Microsoft's Kusto language service in
tests/kql/check.mjs (scripts/kql.sh); here: that the Bicep deploys exactly those files, as the APIs take them.
"""

import json
import re
from pathlib import Path

# Resource types and the API versions the module is written for (GA versions).
API_VERSIONS = {
    "Microsoft.OperationalInsights/workspaces": "2025-07-01",
    "Microsoft.OperationalInsights/workspaces/tables": "2025-07-01",
    "Microsoft.OperationalInsights/workspaces/savedSearches": "2025-07-01",
    "Microsoft.Insights/dataCollectionEndpoints": "2024-03-11",
    "Microsoft.Insights/dataCollectionRules": "2024-03-11",
    "Microsoft.SecurityInsights/onboardingStates": "2025-09-01",
    "Microsoft.SecurityInsights/alertRules": "2025-09-01",
    "Microsoft.Insights/workbooks": "2023-06-01",
}
# Column types of a DCR stream declaration; the table schema spells datetime `dateTime`.
DCR_TYPES = {"string", "int", "long", "real", "boolean", "datetime", "dynamic"}
RESERVED = {"_resourceid", "id", "_subscriptionid", "tenantid", "type", "uniqueid", "title"}
# The rule's stream declarations as JSON text (pycep parses no toObject): one entry per table.
STREAMS_VAR = "var streamDeclarations = [for t in declaration.tables: '\"${t.stream}\":${string({ columns: t.columns })}']"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
# Properties the alertRules REST API requires of a scheduled rule.
RULE_REQUIRED = ["displayName", "enabled", "severity", "query", "queryFrequency", "queryPeriod",
                 "triggerOperator", "triggerThreshold", "suppressionEnabled", "suppressionDuration"]


def code(text):
    return re.sub(r"//.*", "", text)


def register(check, main, text, infra):
    """Adds these checks to check_bicep's report."""
    root = infra.parent
    sentinel = root / "sentinel"
    module = infra / "modules/sentinel.bicep"
    access = infra / "modules/sentinel-access.bicep"
    app = infra / "modules/functionapp.bicep"

    def loaded(source):
        """Paths (relative to sentinel/) that loadJsonContent / loadTextContent read."""
        return re.findall(r"load(?:Json|Text)Content\('\.\./\.\./sentinel/([^']+)'\)", source)

    @check("Sentinel: the table declaration follows the service's naming rules")
    def _():
        d = json.loads((sentinel / "tables.json").read_text())
        assert len(d["tables"]) == 6, [t["name"] for t in d["tables"]]
        for t in d["tables"]:
            assert t["name"].endswith("_CL") and t["stream"].startswith("Custom-"), t["name"]
            names = [c["name"] for c in t["columns"]]
            assert len(names) == len({n.lower() for n in names}), f"{t['name']}: a column twice"
            for c in t["columns"]:
                assert set(c) == {"name", "type"}, f"{t['name']}: a column is a stream declaration's {{name, type}}"
                assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,44}", c["name"]), c["name"]
                assert c["name"].lower() not in RESERVED, f"{t['name']}.{c['name']} is reserved"
                assert c["type"] in DCR_TYPES, f"{t['name']}.{c['name']}: {c['type']}"
                assert t["descriptions"].get(c["name"]), f"{t['name']}.{c['name']}: no description"
            assert set(t["descriptions"]) == set(names), f"{t['name']}: descriptions of undeclared columns"
            assert {"name": "TimeGenerated", "type": "datetime"} in [{"name": c["name"], "type": c["type"]} for c in t["columns"]]
            assert any(c["name"] == t["id"] and c["type"] == "string" for c in t["columns"]), t["id"]

    @check("Sentinel: one declaration drives the tables, the stream declarations and the data flows")
    def _():
        src = code(text[module])
        assert "var declaration = loadJsonContent('../../sentinel/tables.json')" in src
        for needle in ("for t in declaration.tables: {",
                       "type: c.type == 'datetime' ? 'dateTime' : c.type",
                       "description: t.descriptions[c.name]",
                       STREAMS_VAR,
                       "streamDeclarations: json('{${join(streamDeclarations, ',')}}')",
                       "outputStream: 'Custom-${t.name}'",
                       "transformKql: 'source'",
                       "dataCollectionEndpointId: endpoint.id",
                       "workspaceResourceId: workspace.id"):
            assert needle in src, needle
        # What the JSON text expands to, for the shipped declaration: an object keyed by stream.
        d = json.loads((sentinel / "tables.json").read_text())
        entries = ['"%s":%s' % (t["stream"], json.dumps({"columns": t["columns"]})) for t in d["tables"]]
        streams = json.loads("{" + ",".join(entries) + "}")
        assert list(streams) == [t["stream"] for t in d["tables"]]
        assert all(list(v) == ["columns"] for v in streams.values())
        # Nothing else declares a column: the handler reads the same file (src/export/table.rs).
        rs = (root / "src/export/table.rs").read_text()
        assert 'include_str!("../../sentinel/tables.json")' in rs

    @check("Sentinel: every rule and parser file is deployed, and only those")
    def _():
        src = code(text[module])
        rules = json.loads((sentinel / "rules/rules.json").read_text())["rules"]
        parsers = json.loads((sentinel / "parser/parsers.json").read_text())["parsers"]
        files = set(loaded(src))
        want = {"tables.json", "rules/rules.json", "parser/parsers.json", "workbook.json"}
        want |= {f"rules/{r['name']}.kql" for r in rules}
        want |= {f"parser/{p['file']}" for p in parsers}
        assert files == want, f"loaded {sorted(files)}, expected {sorted(want)}"
        on_disk = {f"rules/{p.name}" for p in (sentinel / "rules").glob("*.kql")}
        on_disk |= {f"parser/{p.name}" for p in (sentinel / "parser").glob("*.kql")}
        assert on_disk <= files, f"not deployed: {sorted(on_disk - files)}"
        for r in rules:
            assert re.search(r"^\s+'?%s'?: loadTextContent\('\.\./\.\./sentinel/rules/%s\.kql'\)" % (re.escape(r["name"]), re.escape(r["name"])), src, re.M), r["name"]
        for p in parsers:
            assert re.search(r"^\s+%s: loadTextContent\('\.\./\.\./sentinel/parser/%s'\)" % (p["name"], re.escape(p["file"])), src, re.M), p["name"]

    @check("Sentinel: resource types at the API versions the module is written for")
    def _():
        src = code(text[module]) + code(text[access])
        used = dict(re.findall(r"'([\w./]+)@([\w-]+)'", src))
        for t, v in used.items():
            if t == "Microsoft.Authorization/roleAssignments":
                continue
            assert API_VERSIONS.get(t) == v, f"{t}@{v}"
        for t in API_VERSIONS:
            assert t in used, f"{t} not deployed"

    @check("Sentinel: scheduled rules on the workspace with every property the API requires; onboarding optional")
    def _():
        src = code(text[module])
        block = src[src.index("resource analyticsRules"):src.index("resource asimParsers")]
        assert "scope: workspace" in block and "kind: 'Scheduled'" in block
        assert "for (r, i) in rules: if (content && empty(missingTables[i])) {" in block
        for prop in RULE_REQUIRED:
            assert re.search(r"^\s+%s: " % prop, block, re.M), prop
        assert "entityMappings: r.entityMappings" in block
        assert "name: guid(workspace.id, 'bastion-recordings', r.name)" in block
        on = src[src.index("resource onboarding"):src.index("resource analyticsRules")]
        assert "= if (onboard) {" in on and "name: 'default'" in on and "scope: workspace" in on

    @check("Sentinel: private networking links the endpoint and the owned workspace to an existing Azure Monitor Private Link Scope, or refuses")
    def _():
        # With public access off the endpoint takes traffic only through an AMPLS (Learn: "Use Azure Monitor
        # Private Link", data collection endpoints); scopedResources@2021-09-01 is the GA version, deployed
        # at resource group scope, linking one resource by linkedResourceId.
        m = code(text[infra / "main.bicep"])
        pl = code(text[infra / "modules/monitor-private-link.bicep"])
        assert "var privateSentinel = enablePrivateNetworking && sentinelOn" in m
        assert "[indexOf([monitorPrivateLinkScopeId], 'private networking with Sentinel needs monitorPrivateLinkScopeId')]" in m
        assert "module monitorPrivateLink 'modules/monitor-private-link.bicep' = if (privateSentinel) {" in m
        assert "id: sentinelOn ? sentinel!.outputs.endpointId : ''" in m and "id: monitoring.outputs.workspaceId" in m
        assert main["parameters"]["monitorPrivateLinkScopeId"]["default"] == ""
        assert "resource scope 'Microsoft.Insights/privateLinkScopes@2021-09-01' existing" in pl
        assert "'Microsoft.Insights/privateLinkScopes/scopedResources@2021-09-01'" in pl and "linkedResourceId: l.id" in pl
        assert "output endpointId string = endpoint.id" in code(text[module])

    @check("Sentinel: the ASIM parser as workspace functions with the declared parameters; the workbook as a string")
    def _():
        src = code(text[module])
        for needle in ("category: 'ASIM'", "functionAlias: p.name", "functionParameters: p.parameters",
                       "query: parserQueries[p.name]",
                       "serializedData: loadTextContent('../../sentinel/workbook.json')",
                       "kind: 'shared'", "category: 'sentinel'", "sourceId: workspace.id",
                       "name: guid(workspace.id, 'bastion-recordings-workbook')"):
            assert needle in src, needle
        wb = json.loads((sentinel / "workbook.json").read_text())
        workbook_shape(wb)

    @check("Sentinel: Monitoring Metrics Publisher for the app's identity on the rule; the settings reach the app only when enabled")
    def _():
        acc = code(text[access])
        assert f"var monitoringMetricsPublisher = '{MONITORING_METRICS_PUBLISHER}'" in acc
        assert "scope: rule" in acc and "principalId: principalId" in acc
        m = code(text[infra / "main.bicep"])
        for needle in ("var sentinelOn = !empty(sentinelWorkspaceId)",
                       "module sentinel 'modules/sentinel.bicep' = if (sentinelOn) {",
                       "module sentinelAccess 'modules/sentinel-access.bicep' = if (sentinelOn) {",
                       "dcrName: sentinel!.outputs.dcrName",
                       "principalId: functionApp.outputs.principalId",
                       "sentinelIngestionEndpoint: sentinelOn ? sentinel!.outputs.ingestionEndpoint : ''",
                       "sentinelDcrImmutableId: sentinelOn ? sentinel!.outputs.dcrImmutableId : ''"):
            assert needle in m, needle
        a = code(text[app])
        assert "SENTINEL_INGESTION_ENDPOINT: sentinelIngestionEndpoint" in a
        assert "SENTINEL_DCR_IMMUTABLE_ID: sentinelDcrImmutableId" in a
        assert "value: empty(sentinelIngestionEndpoint) ? 'true' : 'false'" in a
        assert main["parameters"]["sentinelWorkspaceId"]["default"] == ""
        for f in sorted(infra.glob("params/*.bicepparam")):
            given = re.findall(r"^param sentinelWorkspaceId = '([^']*)'", f.read_text(), re.M)
            for w in given:
                assert w == "" or re.fullmatch(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.OperationalInsights/workspaces/[^/]+", w), f"{f.name}: {w}"


# The template shape the Workbooks service stores (`serializedData`): item types 1 (text),
# 3 (query), 9 (parameters), 12 (group), each with its content version; Log Analytics queries
# (`queryType` 0) over workspaces; a time context that names a declared parameter.
WORKBOOK_ITEMS = {1: "MarkdownItem/1.0", 3: "KqlItem/1.0", 9: "KqlParameterItem/1.0", 12: "NotebookGroup/1.0"}
VISUALIZATIONS = {"table", "timechart", "barchart", "piechart", "areachart", "linechart", "scatterchart",
                  "tiles", "graph", "map", "categoricalbar", "unstackedbar"}


def workbook_shape(wb):
    assert wb["version"] == "Notebook/1.0", wb.get("version")
    assert wb["$schema"].endswith("/schema/workbook.json"), wb.get("$schema")
    assert isinstance(wb["items"], list) and wb["items"], "items"
    names, params = set(), set()
    for it in wb["items"]:
        t, name, c = it["type"], it["name"], it["content"]
        assert t in WORKBOOK_ITEMS, f"{name}: item type {t}"
        assert name not in names, f"{name}: item name twice"
        names.add(name)
        if t == 1:
            assert isinstance(c["json"], str) and c["json"], f"{name}: text"
            continue
        assert c["version"] == WORKBOOK_ITEMS[t], f"{name}: {c.get('version')}"
        if t == 9:
            for p in c["parameters"]:
                assert p["version"] == "KqlParameterItem/1.0" and p["name"] and p["id"], f"{name}: {p}"
                assert isinstance(p["type"], int), f"{name}: parameter type"
                params.add(p["name"])
        if t == 3:
            assert c["queryType"] == 0, f"{name}: a Log Analytics query"
            assert c["resourceType"] == "microsoft.operationalinsights/workspaces", f"{name}: {c['resourceType']}"
            assert isinstance(c["query"], str) and c["query"].strip(), f"{name}: query"
            assert c["visualization"] in VISUALIZATIONS, f"{name}: {c['visualization']}"
            assert c.get("timeContextFromParameter", "TimeRange") in params, f"{name}: time context"
            assert isinstance(c.get("size", 0), int) and 0 <= c.get("size", 0) <= 4, f"{name}: size"


// Checks every KQL the product ships for Microsoft Sentinel with Microsoft's Kusto language
// service (npm @kusto/language-service-next): the analytics rules (sentinel/rules/*.kql), the
// ASIM parsers (sentinel/parser/*.kql) and the workbook's queries (sentinel/workbook.json). Each
// must parse and resolve every table, column and function against the declared schemas: the
// custom tables of sentinel/tables.json (with the standard columns Azure Monitor adds) and the
// workspace tables of sentinel/workspace-tables.json. Beyond that:
//   - every column a rule's entity mapping names is a column of the rule's result, and the rule's
//     properties are values the alertRules API accepts (severity, durations, trigger, tactics);
//   - the parser returns the ASIM Authentication fields the schema makes mandatory and the
//     aliases it uses, and takes the ASIM filtering parameters; it says schema version 0.1.4 and
//     names the device (Dvc) from the record, not with a constant;
//   - the workbook has the template shape Azure Workbooks loads (version, typed items, unique
//     names, each query a KqlItem over a Log Analytics workspace);
//   - the product's own queries of StorageBlobLogs (src/custody/*.kql) under the headers the code
//     writes for hostile names (tests/kql/custody-*header.kql, which Rust unit tests compare with
//     the code's output) return the columns the code reads;
//   - the authorization step's query of AuditLogs and SigninLogs (tests/kql/authz-auditlogs*.kql,
//     which a Rust unit test compares with the code's output) resolves against the tables'
//     documented columns (tests/kql/entra-tables.json) and returns the columns the code reads;
//   - the queries docs/sentinel.md and docs/custody.md give to confirm rows are arriving once
//     deployed (their ```kusto blocks) parse and resolve against the same schemas;
//   - the check can fail: each rule, parser and workbook query is checked again with one of its
//     columns misspelt, and that copy must be refused.
// Usage: node tests/kql/check.mjs [--show]   (scripts/kql.sh installs the package and runs it)

import { createRequire } from "node:module";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
require("@kusto/language-service-next/bridge.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.js");
/* global Kusto */
const K = globalThis.Kusto.Language;
const S = K.Symbols;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SENTINEL = join(ROOT, "sentinel");
const show = process.argv.includes("--show");
const failures = [];
const fail = (where, what) => failures.push(`${where}: ${what}`);
const json = (p) => JSON.parse(readFileSync(p, "utf8"));
const text = (p) => readFileSync(p, "utf8");

// ---- Schemas
const KUSTO_TYPE = { string: "string", int: "int", long: "long", real: "real", boolean: "bool", datetime: "datetime", dynamic: "dynamic" };
const schemaOf = (columns) => "(" + columns.map((c) => {
  const t = KUSTO_TYPE[c.type];
  if (!t) throw new Error(`unknown column type ${c.type}`);
  return `['${c.name}']:${t}`;
}).join(", ") + ")";

const declared = json(join(SENTINEL, "tables.json"));
const workspace = json(join(SENTINEL, "workspace-tables.json"));
const standard = workspace.standardColumns.columns;
const tables = [];
for (const t of declared.tables) {
  const names = new Set(t.columns.map((c) => c.name));
  const cols = t.columns.concat(standard.filter((c) => !names.has(c.name)));
  tables.push(new S.TableSymbol.$ctor7(t.name, schemaOf(cols), t.description));
}
for (const t of workspace.tables) {
  tables.push(new S.TableSymbol.$ctor7(t.name, schemaOf(t.columns), null));
}
// The Entra tables the authorization step reads (AuditLogs, SigninLogs).
const entra = json(join(ROOT, "tests", "kql", "entra-tables.json"));
for (const t of entra.tables) {
  tables.push(new S.TableSymbol.$ctor7(t.name, schemaOf(t.columns), null));
}

const parsers = json(join(SENTINEL, "parser", "parsers.json")).parsers;
const parserBody = (p) => text(join(SENTINEL, "parser", p.file));

/** Global state with the tables and, when given, the parser functions. */
function globals(withFunctions) {
  const members = [...tables];
  if (withFunctions) {
    for (const p of parsers) {
      members.push(new S.FunctionSymbol.$ctor16(p.name, `(${p.parameters})`, `{\n${parserBody(p)}\n}`, p.displayName));
    }
  }
  const db = new S.DatabaseSymbol.ctor("workspace", members);
  return K.GlobalState.Default.WithDatabase(db);
}
const GLOBALS = globals(true);

/** Errors of `query` and its result columns (name → type). */
function analyse(query, g = GLOBALS) {
  const code = K.KustoCode.ParseAndAnalyze(query, g);
  const errors = [];
  const d = code.GetDiagnostics();
  for (let i = 0; i < d.Count; i++) {
    const x = d.getItem(i);
    if (String(x.Severity) === "Error") {
      const before = query.slice(0, x.Start);
      const line = before.split("\n").length;
      const col = x.Start - before.lastIndexOf("\n");
      errors.push(`${line}:${col} ${x.Code} ${x.Message}`);
    }
  }
  const columns = new Map();
  const rt = code.ResultType;
  if (rt && rt.Columns) {
    for (let i = 0; i < rt.Columns.Count; i++) {
      const c = rt.Columns.getItem(i);
      columns.set(c.Name, String(c.Type.Name));
    }
  }
  return { errors, columns };
}

/** The same query with the first whole-word use of one of `candidates` misspelt; else with a
 * misspelt column of its result projected at its end. */
function misspelt(query, candidates, result) {
  for (const c of candidates) {
    const re = new RegExp(`\\b${c}\\b`);
    if (re.test(query)) return { query: query.replace(re, `${c}x`), column: c };
  }
  const c = [...result.keys()][0];
  return c ? { query: `${query}\n| project ${c}x`, column: `${c} (projected)` } : null;
}

/** Checks `query` at `where`; proves the check refuses it with a column misspelt. */
function check(where, query, candidates) {
  const r = analyse(query);
  for (const e of r.errors) fail(where, e);
  if (show) console.log(`${where}: ${r.columns.size} result columns`);
  const bad = misspelt(query, candidates, r.columns);
  if (!bad) {
    fail(where, "no column to misspell: the negative check cannot run");
  } else if (analyse(bad.query).errors.length === 0) {
    fail(where, `a copy with ${bad.column} misspelt was accepted: columns are not resolved`);
  }
  return r;
}

const CUSTOM_COLUMNS = declared.tables.flatMap((t) => t.columns.map((c) => c.name)).filter((c) => c !== "TimeGenerated");
const AUDIT_COLUMNS = workspace.tables[0].columns.map((c) => c.name).filter((c) => !c.startsWith("_") && c !== "TimeGenerated");

// ---- Analytics rules
const ISO = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/;
const minutes = (d) => {
  const m = ISO.exec(d || "");
  if (!m || d === "P" || d.endsWith("T")) return NaN;
  return (+(m[1] || 0)) * 1440 + (+(m[2] || 0)) * 60 + (+(m[3] || 0));
};
const TACTICS = new Set(["Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence", "PrivilegeEscalation", "DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement", "Collection", "Exfiltration", "CommandAndControl", "Impact", "PreAttack", "ImpairProcessControl", "InhibitResponseFunction"]);
const IDENTIFIERS = {
  Account: ["Name", "FullName", "UPNSuffix", "NTDomain", "DnsDomain", "Sid", "AadUserId", "AadTenantId", "ObjectGuid"],
  Host: ["HostName", "FullName", "DnsDomain", "NTDomain", "AzureID", "OMSAgentID"],
  IP: ["Address", "AddressScope"],
  AzureResource: ["ResourceId"],
};
const rulesDir = join(SENTINEL, "rules");
const rules = json(join(rulesDir, "rules.json")).rules;
const kqlFiles = readdirSync(rulesDir).filter((f) => f.endsWith(".kql")).sort();
const ruleFiles = rules.map((r) => `${r.name}.kql`).sort();
if (JSON.stringify(kqlFiles) !== JSON.stringify(ruleFiles)) {
  fail("sentinel/rules", `rules.json names ${ruleFiles} but the folder holds ${kqlFiles}`);
}
const entityTypes = new Set();
for (const r of rules) {
  const where = `sentinel/rules/${r.name}.kql`;
  const query = text(join(rulesDir, `${r.name}.kql`));
  const res = check(where, query, CUSTOM_COLUMNS.concat(AUDIT_COLUMNS));
  if (query.length > 10000) fail(where, "a rule query is at most 10,000 characters");
  if (/\bsearch\s+\*|\bunion\s+\*/.test(query)) fail(where, "no search * or union *");
  if (!["High", "Medium", "Low", "Informational"].includes(r.severity)) fail(where, `severity ${r.severity}`);
  const f = minutes(r.queryFrequency), p = minutes(r.queryPeriod);
  if (!(f >= 5 && f <= 14 * 1440 && p >= 5 && p <= 14 * 1440 && f <= p)) {
    fail(where, `queryFrequency ${r.queryFrequency} / queryPeriod ${r.queryPeriod}: 5 minutes to 14 days, frequency at most the period`);
  }
  if (!["GreaterThan", "LessThan", "Equal", "NotEqual"].includes(r.triggerOperator) || !Number.isInteger(r.triggerThreshold)) {
    fail(where, "triggerOperator / triggerThreshold");
  }
  for (const t of r.tactics) if (!TACTICS.has(t)) fail(where, `tactic ${t}`);
  for (const t of r.techniques) if (!/^T\d{4}$/.test(t)) fail(where, `technique ${t} (a parent technique id, T####)`);
  if (!r.displayName || !r.description) fail(where, "displayName and description");
  for (const m of r.entityMappings) {
    entityTypes.add(m.entityType);
    const ids = IDENTIFIERS[m.entityType];
    if (!ids) fail(where, `entity type ${m.entityType}`);
    if (m.fieldMappings.length < 1 || m.fieldMappings.length > 3) fail(where, `${m.entityType}: 1 to 3 identifiers`);
    for (const fm of m.fieldMappings) {
      if (ids && !ids.includes(fm.identifier)) fail(where, `${m.entityType}.${fm.identifier} is not an identifier`);
      if (!res.columns.has(fm.columnName)) fail(where, `entity ${m.entityType}.${fm.identifier} maps ${fm.columnName}, which the query does not return`);
      else if (res.columns.get(fm.columnName) !== "string") fail(where, `${fm.columnName} is ${res.columns.get(fm.columnName)}, entity fields are strings`);
    }
  }
}
for (const t of ["Account", "IP", "Host", "AzureResource"]) {
  if (!entityTypes.has(t)) fail("sentinel/rules", `no rule maps a ${t} entity`);
}

// ---- ASIM parsers
const MANDATORY = ["EventCount", "EventStartTime", "EventEndTime", "EventType", "EventResult", "EventProduct", "EventVendor", "EventSchema", "EventSchemaVersion", "Dvc"];
const RECOMMENDED = ["EventResultDetails", "EventSeverity", "DvcHostname", "DvcId", "Src", "SrcIpAddr", "TargetHostname"];
const ALIASES = ["User", "IpAddr", "Dst", "LogonTarget"];
const VIM_PARAMETERS = ["starttime:datetime", "endtime:datetime", "username_has_any:dynamic", "targetappname_has_any:dynamic", "srcipaddr_has_any_prefix:dynamic", "srchostname_has_any:dynamic", "eventtype_in:dynamic", "eventresultdetails_in:dynamic", "eventresult:string", "disabled:bool", "pack:bool"];
for (const p of parsers) {
  const where = `sentinel/parser/${p.file}`;
  const wrapped = `let ${p.name}_ = (${p.parameters}) {\n${parserBody(p)}\n};\n${p.name}_()`;
  const res = check(where, wrapped, AUDIT_COLUMNS);
  for (const f of MANDATORY.concat(RECOMMENDED, ALIASES, ["EventOriginalResultDetails", "TargetUsername", "AdditionalFields"])) {
    if (!res.columns.has(f)) fail(where, `the parser does not return ASIM field ${f}`);
  }
  for (const source of ["UserName", "ClientIpAddress", "TunnelId", "Message"]) {
    if (!res.columns.has(source)) fail(where, `the source field ${source} is not kept`);
  }
  const params = p.parameters.split(",").map((x) => x.trim().split("=")[0].replace(/\s/g, ""));
  const want = p.name.startsWith("vim") ? VIM_PARAMETERS : ["disabled:bool", "pack:bool"];
  if (JSON.stringify(params) !== JSON.stringify(want)) fail(where, `parameters ${params} (ASIM: ${want})`);
  if (!/^(vim|ASim)AuthenticationAzureBastion$/.test(p.name)) fail(where, `name ${p.name}`);
  // The schema version the fields follow, and the reporting device named from the record (the
  // Bastion host), not a constant.
  const body = parserBody(p);
  const version = /EventSchemaVersion\s*=\s*"([^"]*)"/.exec(body);
  if (version && version[1] !== "0.1.4") fail(where, `EventSchemaVersion ${version[1]} (the Authentication schema is 0.1.4)`);
  if (/\bDvc\s*=\s*"/.test(body)) fail(where, "Dvc is a constant, not the host's name");
}
// The parser's results: success and "Login Failed" both map to an EventResult.
{
  const r = analyse(`ASimAuthenticationAzureBastion | where EventResult in ("Success", "Failure") | summarize count() by EventResult, EventResultDetails`);
  for (const e of r.errors) fail("ASimAuthenticationAzureBastion (as called)", e);
}

// ---- Workbook
const wbPath = join(SENTINEL, "workbook.json");
const wb = json(wbPath);
const ITEM_TYPES = { 1: "markdown", 3: "query", 9: "parameters", 10: "metric", 11: "links", 12: "group" };
if (wb.version !== "Notebook/1.0") fail("sentinel/workbook.json", `version ${wb.version}`);
if (!Array.isArray(wb.items) || wb.items.length === 0) fail("sentinel/workbook.json", "no items");
const names = new Set();
const params = new Set();
let queries = 0;
for (const [i, item] of (wb.items || []).entries()) {
  const where = `sentinel/workbook.json items[${i}] (${item.name})`;
  if (!ITEM_TYPES[item.type]) fail(where, `item type ${item.type}`);
  if (typeof item.content !== "object" || item.content === null) fail(where, "content is an object");
  if (typeof item.name !== "string" || !item.name) fail(where, "every item is named");
  if (names.has(item.name)) fail(where, "names are unique");
  names.add(item.name);
  if (item.customWidth !== undefined && !/^\d+$/.test(item.customWidth)) fail(where, "customWidth is a string of digits");
  if (item.type === 1 && typeof item.content.json !== "string") fail(where, "markdown content.json");
  if (item.type === 9) {
    if (item.content.version !== "KqlParameterItem/1.0") fail(where, "parameters version KqlParameterItem/1.0");
    for (const p of item.content.parameters || []) {
      if (!p.id || !p.name || typeof p.type !== "number") fail(where, `parameter ${p.name}: id, name and type`);
      params.add(p.name);
    }
  }
  if (item.type === 3) {
    const c = item.content;
    queries++;
    if (c.version !== "KqlItem/1.0") fail(where, "query version KqlItem/1.0");
    if (c.queryType !== 0 || c.resourceType !== "microsoft.operationalinsights/workspaces") fail(where, "a Log Analytics query (queryType 0, resourceType microsoft.operationalinsights/workspaces)");
    if (!["table", "timechart", "barchart", "piechart", "areachart", "linechart", "scatterchart", "tiles", "categoricalbar"].includes(c.visualization)) fail(where, `visualization ${c.visualization}`);
    if (c.timeContextFromParameter && !params.has(c.timeContextFromParameter)) fail(where, `time range parameter ${c.timeContextFromParameter} is not declared above it`);
    if (/\{[A-Za-z]+(:[a-z]+)?\}/.test(c.query)) fail(where, "a parameter token in the query text (the checker does not substitute them)");
    check(where, c.query, CUSTOM_COLUMNS);
  }
}
if (queries < 5) fail("sentinel/workbook.json", `${queries} queries; sessions over time, recorded share, backlog, detections by type, top users and client IPs`);

// ---- The product's custody query (src/custody/)
{
  const where = "src/custody/storage_blob_logs.kql";
  const body = text(join(ROOT, "src", "custody", "storage_blob_logs.kql"));
  const header = text(join(ROOT, "tests", "kql", "custody-header.kql"));
  const blobColumns = workspace.tables.find((t) => t.name === "StorageBlobLogs").columns.map((c) => c.name);
  const res = check(where, header + body, blobColumns.filter((c) => !c.startsWith("_") && c !== "TimeGenerated"));
  const READ = ["TimeGenerated", "OperationName", "StatusCode", "AuthenticationType", "RequesterUpn", "RequesterObjectId", "RequesterAppId", "CallerIpAddress", "UserAgentHeader", "CorrelationId"];
  for (const c of READ) if (!res.columns.has(c)) fail(where, `the query does not return ${c}, which the code reads`);
  if (res.columns.get("StatusCode") !== "string") fail(where, "StatusCode is a string");
  // The same body under a replacement's operations (whole-content writes only).
  const rheader = text(join(ROOT, "tests", "kql", "custody-replaced-header.kql"));
  check(where, rheader + body, blobColumns.filter((c) => !c.startsWith("_") && c !== "TimeGenerated"));
  // The evidence pack's query: every request on the recording containers over the period.
  const period = "src/custody/storage_blob_period.kql";
  const pbody = text(join(ROOT, "src", "custody", "storage_blob_period.kql"));
  const pheader = text(join(ROOT, "tests", "kql", "custody-period-header.kql"));
  const pres = check(period, pheader + pbody, blobColumns.filter((c) => !c.startsWith("_") && c !== "TimeGenerated"));
  for (const c of READ.concat(["ObjectKey"])) if (!pres.columns.has(c)) fail(period, `the query does not return ${c}, which the code reads`);
  // The changes pass's query: delete, rename and write requests on the containers, by ingestion.
  const changes = "src/custody/storage_blob_changes.kql";
  const cbody = text(join(ROOT, "src", "custody", "storage_blob_changes.kql"));
  const cheader = text(join(ROOT, "tests", "kql", "custody-changes-header.kql"));
  const cres = check(changes, cheader + cbody, blobColumns.filter((c) => !c.startsWith("_") && c !== "TimeGenerated"));
  for (const c of READ.concat(["ObjectKey", "SourceUri", "IngestedAt", "Etag", "AuthenticationHash"])) if (!cres.columns.has(c)) fail(changes, `the query does not return ${c}, which the code reads`);
  if (cres.columns.get("IngestedAt") !== "datetime") fail(changes, "IngestedAt is a datetime");
}

// ---- The product's authorization query (src/authorization/auditlogs.rs; the files are what the
// code writes, which a Rust unit test compares): PIM's AuditLogs rows by ingestion_time() in a
// fuzzy union with the table's counting row (its earliest TimeGenerated, a datetime), alone and
// with the VM sign-ins of SigninLogs and their counting row.
{
  const READ = ["Type", "Id", "TimeGenerated", "OperationName", "Result", "ResultReason", "InitiatedBy", "TargetResources", "AdditionalDetails", "AuditRows", "AuditSince"];
  const SIGNIN = ["UserPrincipalName", "UserId", "AppId", "AppDisplayName", "ResultType", "AuthenticationRequirement", "AuthenticationDetails", "SigninRows"];
  for (const [file, read] of [["authz-auditlogs.kql", READ], ["authz-auditlogs-signins.kql", READ.concat(SIGNIN)]]) {
    const where = `tests/kql/${file}`;
    const q = text(join(ROOT, "tests", "kql", file));
    if (!/ingestion_time\(\) >= datetime\(/.test(q)) fail(where, "PIM's rows are not asked by ingestion_time()");
    const res = check(where, q, ["LoggedByService", "ResultReason", "AuthenticationRequirement"]);
    for (const c of read) if (!res.columns.has(c)) fail(where, `the query does not return ${c}, which the code reads`);
    if (res.columns.get("AuditSince") !== "datetime") fail(where, "AuditSince is a datetime");
  }
}

// ---- The queries the docs give to confirm rows are arriving once deployed
let docQueries = 0;
for (const doc of ["sentinel.md", "custody.md"]) {
  const blocks = [...text(join(ROOT, "docs", doc)).matchAll(/```kusto\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0) fail(`docs/${doc}`, "no ```kusto block confirming that rows arrive");
  blocks.forEach((q, i) => check(`docs/${doc} kusto block ${i + 1}`, q, ["Category", "AccountName", "EventResult", "SessionId"]));
  docQueries += blocks.length;
}

if (failures.length) {
  console.error(`KQL check: ${failures.length} problem(s)`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}
console.log(`KQL check: ${rules.length} rules, ${parsers.length} parsers, ${queries} workbook queries, the custody query, the authorization query and ${docQueries} docs queries parse and resolve against ${tables.length} declared tables; each refused with a misspelt column`);

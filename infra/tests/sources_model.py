"""Checks of the source arrays of main.bicep (several Bastion hosts, one deployment), on every params file.

No Bicep compiler can run offline and pycep's expression trees lose operator precedence, so the template
cannot be evaluated here. Instead, `deploy()` models what main.bicep derives from the parameters (sources,
one system topic per account, subscription names, role modules per resource group, the app settings), and
PINS holds the model to the template: each line it mirrors must appear verbatim in the Bicep, so an edit
there fails until the model follows. The checks then run the model over every params file and over a
synthetic worst case (two containers in one account, one container name in two accounts).
"""

import base64
import hashlib
import re

# Lines of the templates the model below mirrors (file -> lines).
PINS = {
    "main.bicep": [
        "  for s in recordingSources: {",
        "  for s in auditLogSources: {",
        "container: s.?container ?? 'recordings'",
        "container: s.?container ?? 'insights-logs-bastionauditlogs'",
        "var recordingGroupKeys = [for s in recordingsFilled: toLower('${s.subscriptionId}/${s.resourceGroup}')]",
        "var recordingAccountRefs = [for s in recordingsFilled: toLower('${s.subscriptionId}/${s.resourceGroup}/${s.accountName}')]",
        "firstOfAccount: indexOf(recordingAccountRefs, recordingAccountRefs[i]) == i",
        "var recordingGroups = union(recordingGroupKeys, recordingGroupKeys)",
        "var auditLogGroups = union(auditLogGroupKeys, auditLogGroupKeys)",
        "var allSources = concat(recordings, auditLogs)",
        "var accountRefs = union(allAccountRefs, allAccountRefs)",
        "topicName: indexOf(namedTopicKeys, k) < 0 ? 'evgt-${allSources[indexOf(allAccountRefs, k)].accountName}' : allSources[indexOf(namedTopicKeys, k)].systemTopicName",
        "leading: k < length(recordingSubscriptions)",
        "var subscriptionAppTag = '${take(functionAppName, 16)}-${take(uniqueString(functionAppName), 4)}'",
        "name: p.leading ? '${p.subscription.function}-${subscriptionAppTag}' : '${p.subscription.function}-${subscriptionAppTag}-${take(p.source.container, 16)}-${take(uniqueString(p.source.account, p.source.container), 6)}'",
        "param functionAppName string = 'func-${toLower(baseName)}-${environment}-${take(uniqueString(resourceGroup().id), 6)}'",
        "for (g, i) in recordingGroups: {",
        "for (g, i) in auditLogGroups: {",
        "for (a, i) in sourceAccounts: {",
        "scope: resourceGroup(a.subscriptionId, a.resourceGroup)",
    ],
    "modules/eventgrid.bicep": [
        "var mine = filter(subscriptions, s => s.account == forAccount)",
        "for s in mine: if (deploySubscriptions) {",
        "name: s.name",
    ],
    "modules/recordings-access.bicep": [
        "var mine = filter(sources, s => s.group == group)",
        "var accounts = filter(mine, s => s.firstOfAccount)",
        "for (s, i) in mine: {",
        "for (s, i) in accounts: if (grantDelegator) {",
        "for (s, i) in accounts: if (applyLifecyclePolicy) {",
    ],
    "modules/auditlogs-access.bicep": [
        "var mine = filter(sources, s => s.group == group)",
        "for (s, i) in mine: {",
    ],
    "modules/functionapp.bicep": [
        "for s in recordingSources: '${toLower(s.accountName) == recordingsAccount ? 'RECORDINGS_STORAGE' : (toLower(s.accountName) == auditLogsAccount ? 'AUDITLOGS_STORAGE' : 'SOURCE_${toUpper(s.accountName)}')}:${s.container}${empty(s.bastionName) ? '' : '@${s.bastionName}'}'",
        "for s in auditLogSources: '${toLower(s.accountName) == auditLogsAccount ? 'AUDITLOGS_STORAGE' : (toLower(s.accountName) == recordingsAccount ? 'RECORDINGS_STORAGE' : 'SOURCE_${toUpper(s.accountName)}')}:${s.container}'",
        "var otherAccounts = filter(sourceAccountNames, a => a != recordingsAccount && a != auditLogsAccount)",
        "name: 'SOURCE_${toUpper(a)}__accountName'",
        "RECORDINGS_SOURCES: join(recordingEntries, ',')",
        "AUDITLOGS_SOURCES: join(auditLogEntries, ',')",
        "appSettings: appSettings",
    ],
}

APP_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"
APP_GROUP = "rg-app"
APP_GROUP_ID = f"/subscriptions/{APP_SUBSCRIPTION}/resourceGroups/{APP_GROUP}"
SUBSCRIPTION_NAME = re.compile(r"^[A-Za-z0-9-]{3,64}$")
CONTAINER = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
# RECORDINGS_SOURCES entry as src/config/sources parses it: <connection>:<container>[@<bastion name or id>].
ENTRY = re.compile(r"^[A-Za-z0-9_-]+:[a-z0-9-]{3,63}(@[A-Za-z0-9._/-]+)?$")


def unique_string(*parts):
    """Stand-in for ARM's uniqueString (13 base32 characters of a hash): same shape, not the same value."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.b32encode(digest).decode().lower()[:13]


def literal(text):
    """A Bicep literal (objects, arrays, 'strings', numbers, true/false) as Python."""
    tokens = re.findall(r"'(?:[^'\\]|\\.)*'|[{}\[\]:]|[\w.-]+", text)
    pos = 0

    def value():
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "{":
            obj = {}
            while tokens[pos] != "}":
                key = tokens[pos].strip("'")
                assert tokens[pos + 1] == ":", f"expected `:` after {key}"
                pos += 2
                obj[key] = value()
            pos += 1
            return obj
        if tok == "[":
            arr = []
            while tokens[pos] != "]":
                arr.append(value())
            pos += 1
            return arr
        if tok.startswith("'"):
            return tok[1:-1]
        return {"true": True, "false": False}.get(tok, int(tok) if tok.isdigit() else tok)

    return value()


def params_of(text):
    """The `param name = <literal>` assignments of a .bicepparam file (comments removed)."""
    text = re.sub(r"//.*", "", text)
    out = {}
    for m in re.finditer(r"^param (\w+) = ", text, re.M):
        rest = text[m.end():]
        if rest[0] in "[{":
            depth, end = 0, 0
            for i, c in enumerate(rest):
                depth += c in "[{"
                depth -= c in "]}"
                if depth == 0:
                    end = i + 1
                    break
            out[m.group(1)] = literal(rest[:end])
        else:
            out[m.group(1)] = literal(rest.splitlines()[0])
    return out


def default(main, name):
    return (main["parameters"][name] or {}).get("default")


def deploy(p, main):
    """What main.bicep deploys for parameters `p` (the model PINS ties to the template)."""
    def fill(sources, kind_default, bastion):
        out = []
        for s in sources:
            f = {
                "accountName": s["accountName"],
                "subscriptionId": s.get("subscriptionId", APP_SUBSCRIPTION),
                "resourceGroup": s.get("resourceGroup", APP_GROUP),
                "container": s.get("container", kind_default),
                "bastionName": s.get("bastionName", "") if bastion else "",
                "systemTopicName": s.get("systemTopicName", ""),
            }
            f["group"] = f"{f['subscriptionId']}/{f['resourceGroup']}".lower()
            f["account"] = f"{f['group']}/{f['accountName']}".lower()
            out.append(f)
        keys = [s["account"] for s in out]
        for i, s in enumerate(out):
            s["firstOfAccount"] = keys.index(s["account"]) == i
        return out

    rec = fill(p["recordingSources"], "recordings", True)
    aud = fill(p["auditLogSources"], "insights-logs-bastionauditlogs", False)
    every = rec + aud
    accounts = list(dict.fromkeys(s["account"] for s in every))
    topics = {}
    for k in accounts:
        named = [s["systemTopicName"] for s in every if s["account"] == k and s["systemTopicName"]]
        first = next(s for s in every if s["account"] == k)
        topics[k] = named[0] if named else f"evgt-{first['accountName']}"
    app = p.get("functionAppName") or f"func-{p.get('baseName', 'bastrec').lower()}-{p.get('environment', 'prod')}-{unique_string(APP_GROUP_ID)[:6]}"
    tag = f"{app[:16]}-{unique_string(app)[:4]}"
    subs = []
    for kind, sources in (("RecordingCreated", rec), ("AuditLogCreated", aud)):
        for i, s in enumerate(sources):
            name = f"{kind}-{tag}" if i == 0 else f"{kind}-{tag}-{s['container'][:16]}-{unique_string(s['account'], s['container'])[:6]}"
            subs.append({"topic": topics[s["account"]], "account": s["account"], "function": kind,
                         "container": s["container"], "name": name})
    rec0, aud0 = rec[0]["accountName"].lower(), aud[0]["accountName"].lower()

    def connection(account, first, second):
        a = account.lower()
        return first[1] if a == first[0] else second[1] if a == second[0] else f"SOURCE_{a.upper()}"

    r, a = (rec0, "RECORDINGS_STORAGE"), (aud0, "AUDITLOGS_STORAGE")
    rec_entries = [f"{connection(s['accountName'], r, a)}:{s['container']}" + (f"@{s['bastionName']}" if s["bastionName"] else "")
                   for s in rec]
    aud_entries = [f"{connection(s['accountName'], a, r)}:{s['container']}" for s in aud]
    others = [n for n in dict.fromkeys(s["accountName"].lower() for s in every) if n not in (rec0, aud0)]
    return {
        "recordings": rec,
        "auditLogs": aud,
        "topics": topics,
        "subscriptions": subs,
        "app": app,
        "roleGroups": {"recordings": list(dict.fromkeys(s["group"] for s in rec)),
                       "auditLogs": list(dict.fromkeys(s["group"] for s in aud))},
        "lifecycleAccounts": [s["account"] for s in rec if s["firstOfAccount"]],
        "settings": {"RECORDINGS_SOURCES": ",".join(rec_entries), "AUDITLOGS_SOURCES": ",".join(aud_entries)},
        "connections": ["RECORDINGS_STORAGE", "AUDITLOGS_STORAGE"] + [f"SOURCE_{n.upper()}" for n in others],
    }


def invariants(d, label):
    """What must hold for any parameters."""
    every = d["recordings"] + d["auditLogs"]
    accounts = {s["account"] for s in every}
    assert set(d["topics"]) == accounts, f"{label}: one topic per account"
    assert len(set(d["topics"].values())) == len(accounts), f"{label}: topic names repeat {d['topics']}"
    names = [s["name"] for s in d["subscriptions"]]
    assert len(names) == len(set(names)), f"{label}: subscription names collide: {names}"
    for s in d["subscriptions"]:
        assert SUBSCRIPTION_NAME.match(s["name"]), f"{label}: bad subscription name {s['name']}"
    # Each name carries the app: another instance of the product on the same account keeps its own.
    for s in d["subscriptions"]:
        assert s["name"].startswith(f"{s['function']}-{d['app'][:16]}-"), f"{label}: {s['name']} does not name the app"
    for kind, function in (("recordings", "RecordingCreated"), ("auditLogs", "AuditLogCreated")):
        for s in d[kind]:
            mine = [x for x in d["subscriptions"] if x["function"] == function and x["container"] == s["container"]
                    and x["account"] == s["account"]]
            assert len(mine) == 1, f"{label}: {function} for {s['account']}/{s['container']}: {len(mine)}"
            assert CONTAINER.match(s["container"]), f"{label}: container {s['container']}"
    assert len(d["lifecycleAccounts"]) == len(set(d["lifecycleAccounts"])), f"{label}: lifecycle policy twice"
    for setting, value in d["settings"].items():
        for entry in value.split(","):
            assert ENTRY.match(entry), f"{label}: {setting} entry {entry!r}"
            assert entry.split(":")[0] in d["connections"], f"{label}: {entry} names no configured connection"


def register(check, main, text, infra):
    """Adds the source checks to check_bicep's report."""

    @check("sources: the model's lines appear verbatim in the templates (PINS)")
    def _():
        missing = [f"{f}: {line}" for f, lines in PINS.items() for line in lines
                   if line not in text[infra / f]]
        assert not missing, missing

    @check("sources: every params file deploys one topic per account, unique subscription names, valid settings")
    def _():
        for f in sorted(infra.glob("params/*.bicepparam")):
            invariants(deploy(params_of(f.read_text()), main), f.name)

    @check("sources: one source of each kind gives one subscription per function, named after the app, and one entry per setting")
    def _():
        for f in sorted(infra.glob("params/*.bicepparam")):
            p = params_of(f.read_text())
            if len(p["recordingSources"]) != 1 or len(p["auditLogSources"]) != 1:
                continue
            d = deploy(p, main)
            assert [s["name"].split("-")[0] for s in d["subscriptions"]] == ["RecordingCreated", "AuditLogCreated"], f.name
            same = p["recordingSources"][0]["accountName"] == p["auditLogSources"][0]["accountName"]
            assert len(d["topics"]) == (1 if same else 2), f.name
            assert d["settings"]["RECORDINGS_SOURCES"] == f"RECORDINGS_STORAGE:{d['recordings'][0]['container']}"
            assert d["connections"] == ["RECORDINGS_STORAGE", "AUDITLOGS_STORAGE"], f.name

    @check("sources: params/multi.bicepparam is a two-host example in two accounts and two subscriptions")
    def _():
        d = deploy(params_of((infra / "params/multi.bicepparam").read_text()), main)
        rec = d["recordings"]
        assert len(rec) >= 2 and len({s["account"] for s in rec}) >= 2, "two recording accounts"
        assert all(s["bastionName"] for s in rec), "each recording source names its Bastion"
        assert len({s["subscriptionId"] for s in rec}) >= 2, "a source in another subscription (scoped modules)"
        shared = {s["account"] for s in rec} & {s["account"] for s in d["auditLogs"]}
        assert shared, "an account holding both kinds (one topic, two subscriptions)"
        assert len(d["topics"]) == len({s["account"] for s in rec + d["auditLogs"]})

    @check("sources: two instances of the product on one account (apps sharing a long name prefix) never share a subscription name")
    def _():
        for f in sorted(infra.glob("params/*.bicepparam")):
            p = params_of(f.read_text())
            one = deploy({**p, "functionAppName": "func-bastrec-prod-weu001"}, main)
            two = deploy({**p, "functionAppName": "func-bastrec-prod-neu002"}, main)
            shared = {s["name"] for s in one["subscriptions"]} & {s["name"] for s in two["subscriptions"]}
            assert not shared, f"{f.name}: {sorted(shared)}"

    @check("sources: two containers in one account and one container name in two accounts never collide")
    def _():
        p = {"recordingSources": [
            {"accountName": "sta", "container": "recordings"},
            {"accountName": "sta", "container": "recordings-2"},
            {"accountName": "stb", "resourceGroup": "rg-b", "container": "recordings"},
            {"accountName": "stc", "subscriptionId": "s2", "resourceGroup": "rg-b", "container": "recordings"},
        ], "auditLogSources": [{"accountName": "sta"}, {"accountName": "stb", "resourceGroup": "rg-b"}]}
        d = deploy(p, main)
        invariants(d, "synthetic")
        assert len(d["topics"]) == 3
        on_a = [s["name"] for s in d["subscriptions"] if s["account"].endswith("/sta")]
        assert len(on_a) == 3 and on_a[0] == f"RecordingCreated-{d['app'][:16]}-{unique_string(d['app'])[:4]}", on_a
        assert d["roleGroups"]["recordings"] == [f"{APP_SUBSCRIPTION}/{APP_GROUP}", f"{APP_SUBSCRIPTION}/rg-b", "s2/rg-b"]
        assert d["lifecycleAccounts"] == [s["account"] for s in d["recordings"] if s["firstOfAccount"]]
        assert len(d["lifecycleAccounts"]) == 3
        # The model itself can fail: a repeated name is reported.
        d["subscriptions"][1]["name"] = d["subscriptions"][0]["name"]
        try:
            invariants(d, "broken")
        except AssertionError as e:
            assert "collide" in str(e)
        else:
            raise AssertionError("a repeated subscription name went unnoticed")

#!/usr/bin/env bash
# One-command deployment (needs az CLI >= 2.60 with Bicep, logged in):
#   infra/deploy.sh <resource-group> infra/params/<env>.bicepparam
#   infra/deploy.sh rg-bastrec-prod infra/params/multi.bicepparam   # two Bastion hosts, one catalogue
# (the deployer needs role-assignment rights in every source's resource group, in whatever subscription)
# 0. infra/preflight.sh first: read-only checks of every precondition; a blocking finding stops here.
# 1. infrastructure without Event Grid subscriptions (the webhook needs the host's eventgrid_extension
#    system key, which exists only after the code is deployed and the host has started);
# 2. the package (dist/app.zip, built by scripts/package.sh when missing);
# 3. waits for the system key, then deploys again with the subscriptions and, with Microsoft Sentinel,
#    its analytics rules, parser and workbook (a rule is refused until its new tables are queryable;
#    a rule reading a Microsoft table the workspace lacks is not deployed, and named);
#    The second pass is a deployment stack update (`az stack group create`, stack DEPLOY_STACK_NAME,
#    default bastion-recordings, --action-on-unmanage DEPLOY_ACTION_ON_UNMANAGE, default deleteResources):
#    what the template no longer declares (grants, settings, event subscriptions, authentication) is
#    deleted; the preflight lists it first and refuses a removal of anything holding data.
#    DEPLOY_WITH_STACK=false keeps the plain `az deployment group create` (nothing is removed);
# 4. deletes this app's event subscriptions under an earlier version's names (the preflight names them).
# The parameters go to Resource Manager as a JSON file built from the .bicepparam, with
# deployEventSubscriptions written into it for each pass: no inline override of a .bicepparam (whether
# one is honoured for a parameter the file does not name depends on the Bicep CLI's version), so the
# first pass can never ask for a system key that does not exist yet.
# Re-running is safe: every step is idempotent.
set -euo pipefail

RG=${1:?usage: infra/deploy.sh <resource-group> <params-file>}
PARAMS=${2:?usage: infra/deploy.sh <resource-group> <params-file>}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# How the second pass deploys: handed down to the preflight, which lists what it would remove.
export DEPLOY_WITH_STACK=${DEPLOY_WITH_STACK:-true} DEPLOY_ACTION_ON_UNMANAGE=${DEPLOY_ACTION_ON_UNMANAGE:-deleteResources}
STACK=${DEPLOY_STACK_NAME:-bastion-recordings}
case "$DEPLOY_WITH_STACK/$DEPLOY_ACTION_ON_UNMANAGE" in
    true/deleteResources | true/detachAll | false/*) ;;
    *) echo "deploy: DEPLOY_WITH_STACK is true or false, DEPLOY_ACTION_ON_UNMANAGE deleteResources or detachAll" >&2; exit 2 ;;
esac

WORK=dist/deploy
mkdir -p "$WORK"
trap 'rm -f "$WORK"/params-*.json "$WORK"/err "$WORK"/preflight.json' EXIT
# The preflight's findings deploy.sh acts on: the Sentinel workspace's tables, this app's event
# subscriptions under an earlier version's names.
PREFLIGHT_FINDINGS="$WORK/preflight.json" infra/preflight.sh "$PARAMS" "$RG"

[ -f dist/app.zip ] || scripts/package.sh

az bicep build-params --file "$PARAMS" --stdout -o json >"$WORK/built.json"
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
built = json.load(open(f"{work}/built.json"))
doc = json.loads(built["parametersJson"])
# The Microsoft tables the preflight found in the Sentinel workspace: a rule reading one is deployed.
found = json.load(open(f"{work}/preflight.json"))
doc.setdefault("parameters", {})["sentinelWorkspaceTables"] = {"value": found["sentinelTables"]}
for value in (False, True):
    doc.setdefault("parameters", {})["deployEventSubscriptions"] = {"value": value}
    with open(f"{work}/params-{str(value).lower()}.json", "w") as f:
        json.dump(doc, f)
PY
rm -f "$WORK/built.json"

# A deployment of main.bicep with parameter file $2 (further az arguments after it), its stdout printed:
# $1 `plain` (az deployment group create) or `stack` (the stack update, which removes what the template
# no longer declares; with DEPLOY_WITH_STACK=false a plain deployment too).
# Two refusals are worth waiting for; any other failure stops at once:
# - role assignments made seconds after their custom role definition (or the app's new identity) are
#   refused while Microsoft Entra ID and Resource Manager replicate them (RoleDefinitionDoesNotExist,
#   PrincipalNotFound): retried every DEPLOY_ROLE_WAIT_SECONDS (30) up to DEPLOY_ROLE_ATTEMPTS (10) times;
# - Microsoft Sentinel refuses an analytics rule whose custom table is not queryable yet ("One of the
#   tables does not exist", for minutes after the table's creation in the first pass): retried with a
#   doubling wait from DEPLOY_TABLE_WAIT_SECONDS (60, at most 600 between tries) up to
#   DEPLOY_TABLE_ATTEMPTS (6) times: 25 minutes of waiting in all.
# The tables a refused rule may read that the Sentinel workspace does not list (one per line): the
# product's own (created by the first pass) and the Microsoft tables handed over. Empty when the list
# cannot be read: then the refusal is taken for a new table not queryable yet.
absent_tables() {
    local ws listed
    ws=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sentinelWorkspace"])' "$WORK/preflight.json")
    [ -n "$ws" ] || return 0
    listed=$(az rest --method get --url "https://management.azure.com$ws/tables?api-version=2025-07-01" -o json 2>/dev/null) || return 0
    python3 - "$WORK/preflight.json" "$listed" <<'PY'
import json, sys
found, listed = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
have = {t.get("name") for t in listed.get("value", [])}
ours = [t["name"] for t in json.load(open("sentinel/tables.json"))["tables"]]
print("\n".join(t for t in ours + found["sentinelTables"] if t not in have))
PY
}

# spent ATTEMPT MOST WHY: fails (printing az's error and WHY) once ATTEMPT reaches MOST.
spent() {
    [ "$1" -lt "$2" ] && return 0
    cat "$WORK/err" >&2
    echo "deploy: $3" >&2
    return 1
}

deploy() {
    local create=(deployment group create -g "$RG") params=$2 roles=0 tables=0 pause out
    if [ "$1" = stack ] && [ "$DEPLOY_WITH_STACK" = true ]; then
        # Deny settings stay off: a deny assignment on every managed grant would stop the owners of the
        # Bastion, source and workspace groups from removing the app's access by hand; the data is kept
        # by the delete lock and the preflight's refusal to let the stack delete it.
        create=(stack group create -n "$STACK" -g "$RG" --action-on-unmanage "$DEPLOY_ACTION_ON_UNMANAGE"
            --deny-settings-mode none --yes)
    fi
    shift 2
    while true; do
        if out=$(az "${create[@]}" -f infra/main.bicep -p "@$params" "$@" 2>"$WORK/err"); then
            printf '%s\n' "$out"
            return 0
        fi
        if grep -qE 'RoleDefinitionDoesNotExist|PrincipalNotFound' "$WORK/err"; then
            roles=$((roles + 1))
            spent "$roles" "${DEPLOY_ROLE_ATTEMPTS:-10}" \
                "role definitions or the app's identity still not replicated after $roles attempts; re-run infra/deploy.sh" ||
                return 1
            echo "deploy: a new role or identity is not replicated yet (attempt $roles/${DEPLOY_ROLE_ATTEMPTS:-10}), retrying in ${DEPLOY_ROLE_WAIT_SECONDS:-30} s" >&2
            sleep "${DEPLOY_ROLE_WAIT_SECONDS:-30}"
        elif grep -q 'One of the tables does not exist' "$WORK/err"; then
            absent=$(absent_tables)
            if [ -n "$absent" ]; then
                cat "$WORK/err" >&2
                echo "deploy: Sentinel refused a rule because $(tr '\n' ' ' <<<"$absent")is absent from the workspace (not a new table still being created): a Microsoft table appears once a diagnostic setting sends its first logs there; re-run infra/deploy.sh then, or send those logs (infra/README.md, Microsoft Sentinel)" >&2
                return 1
            fi
            tables=$((tables + 1))
            spent "$tables" "${DEPLOY_TABLE_ATTEMPTS:-6}" \
                "the Sentinel tables are still not queryable after $tables attempts; re-run infra/deploy.sh later" ||
                return 1
            pause=$((${DEPLOY_TABLE_WAIT_SECONDS:-60} << (tables - 1)))
            [ "$pause" -le 600 ] || pause=600
            echo "deploy: Sentinel refused a rule while its table is new (attempt $tables/${DEPLOY_TABLE_ATTEMPTS:-6}), retrying in $pause s" >&2
            sleep "$pause"
        else
            cat "$WORK/err" >&2
            return 1
        fi
    done
}

echo "deploy: infrastructure"
OUTPUTS=$(deploy plain "$WORK/params-false.json" --query "[properties.outputs.functionAppName.value, properties.outputs.functionAppHostName.value]" -o tsv)
# az prints the two values of the list on two lines (or tab-separated): the app's name, its host name.
read -r APP HOST <<<"$(tr '\t\n' '  ' <<<"$OUTPUTS")"
[ -n "$APP" ] && [ -n "$HOST" ] || { echo "deploy: the deployment named no app or host name" >&2; exit 1; }

# Flex Consumption writes the package into the deployment container with the app's identity, whose role
# there was assigned seconds ago: until the assignment propagates (minutes) the upload fails with a
# storage 403. Retry for up to ~15 minutes, then stop with the cause.
echo "deploy: package to $APP"
attempts=${DEPLOY_ZIP_ATTEMPTS:-30}
for i in $(seq 1 "$attempts"); do
    if out=$(az functionapp deployment source config-zip -g "$RG" -n "$APP" --src dist/app.zip 2>&1); then
        break
    fi
    # Only a refusal by storage is worth waiting for; any other failure stops at once.
    if ! grep -qE '403|Forbidden|AuthorizationPermissionMismatch|AuthorizationFailure' <<<"$out"; then
        printf '%s\n' "$out" >&2
        exit 1
    fi
    if [ "$i" -eq "$attempts" ]; then
        printf '%s\n' "$out" >&2
        echo "deploy: package upload still failing after $attempts attempts (role assignments not effective yet?); re-run infra/deploy.sh" >&2
        exit 1
    fi
    echo "deploy: package upload refused (attempt $i/$attempts; role assignments propagating), retrying in ${DEPLOY_ZIP_WAIT_SECONDS:-30} s"
    sleep "${DEPLOY_ZIP_WAIT_SECONDS:-30}"
done

echo "deploy: waiting for the eventgrid_extension system key"
for _ in $(seq 1 "${DEPLOY_KEY_ATTEMPTS:-30}"); do
    key=$(az functionapp keys list -g "$RG" -n "$APP" --query systemKeys.eventgrid_extension -o tsv 2>/dev/null || true)
    [ -n "$key" ] && break
    # Any request starts the host, which creates the key when it loads the Event Grid extension.
    curl -s -o /dev/null "https://$HOST/" || true
    sleep "${DEPLOY_KEY_WAIT_SECONDS:-10}"
done
[ -n "${key:-}" ] || { echo "deploy: no eventgrid_extension key after 5 minutes; check the app's logs" >&2; exit 1; }

# The whole template: a stack update answers with the stack (its outputs at the top), a deployment with
# the deployment (under properties).
echo "deploy: Event Grid subscriptions$([ "$DEPLOY_WITH_STACK" = true ] && echo ", through the deployment stack $STACK")"
OUT=properties.outputs
[ "$DEPLOY_WITH_STACK" = true ] && OUT=outputs
SKIPPED=$(deploy stack "$WORK/params-true.json" --query "$OUT.sentinelRulesSkipped.value" -o json)
python3 - "$SKIPPED" <<'PY'
import json, sys
for r in json.loads(sys.argv[1] or "[]") or []:
    print("deploy: Sentinel rule %s not deployed: the workspace has no %s (infra/README.md, Microsoft Sentinel)"
          % (r["displayName"], ", ".join(r["missingTables"])))
PY

# The new subscriptions exist now: this app's under an earlier version's names (the preflight named
# them) would deliver every event a second time.
python3 -c '
import json, sys
for x in json.load(open(sys.argv[1]))["staleSubscriptions"]:
    print("\t".join((x["subscription"], x["resourceGroup"], x["topic"], x["name"])))
' "$WORK/preflight.json" | while IFS=$'\t' read -r sub group topic name; do
    echo "deploy: deleting event subscription $topic/$name (an earlier version's name; the new one delivers now)"
    az eventgrid system-topic event-subscription delete --subscription "$sub" -g "$group" --system-topic-name "$topic" -n "$name" --yes -o none
done
echo "deploy: done ($APP)"

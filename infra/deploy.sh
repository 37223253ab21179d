#!/usr/bin/env bash
# One-command deployment (needs az CLI >= 2.60 with Bicep, logged in):
#   infra/deploy.sh <resource-group> infra/params/<env>.bicepparam
#   infra/deploy.sh rg-bastrec-prod infra/params/multi.bicepparam   # two Bastion hosts, one catalogue
# (the deployer needs role-assignment rights in every source's resource group, in whatever subscription)
# 1. infrastructure without Event Grid subscriptions (the webhook needs the host's eventgrid_extension
#    system key, which exists only after the code is deployed and the host has started);
# 2. the package (dist/app.zip, built by scripts/package.sh when missing);
# 3. waits for the system key, then deploys again with the subscriptions.
# 0. infra/preflight.sh first: read-only checks of every precondition; a blocking finding stops here.
# Re-running is safe: every step is idempotent.
set -euo pipefail

RG=${1:?usage: infra/deploy.sh <resource-group> <params-file>}
PARAMS=${2:?usage: infra/deploy.sh <resource-group> <params-file>}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

infra/preflight.sh "$PARAMS" "$RG"

[ -f dist/app.zip ] || scripts/package.sh

echo "deploy: infrastructure"
APP=$(az deployment group create -g "$RG" -f infra/main.bicep -p "$PARAMS" -p deployEventSubscriptions=false \
    --query properties.outputs.functionAppName.value -o tsv)

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
for _ in $(seq 1 30); do
    key=$(az functionapp keys list -g "$RG" -n "$APP" --query systemKeys.eventgrid_extension -o tsv 2>/dev/null || true)
    [ -n "$key" ] && break
    # Any request starts the host, which creates the key when it loads the Event Grid extension.
    curl -s -o /dev/null "https://$APP.azurewebsites.net/" || true
    sleep 10
done
[ -n "${key:-}" ] || { echo "deploy: no eventgrid_extension key after 5 minutes; check the app's logs" >&2; exit 1; }

echo "deploy: Event Grid subscriptions"
az deployment group create -g "$RG" -f infra/main.bicep -p "$PARAMS" -p deployEventSubscriptions=true -o none
echo "deploy: done ($APP)"

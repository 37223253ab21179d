#!/usr/bin/env bash
# One-command deployment (needs az CLI >= 2.60 with Bicep, logged in):
#   infra/deploy.sh <resource-group> infra/params/<env>.bicepparam
#   infra/deploy.sh rg-bastrec-prod infra/params/multi.bicepparam   # two Bastion hosts, one catalogue
# (the deployer needs role-assignment rights in every source's resource group, in whatever subscription)
# 1. infrastructure without Event Grid subscriptions (the webhook needs the host's eventgrid_extension
#    system key, which exists only after the code is deployed and the host has started);
# 2. the package (dist/app.zip, built by scripts/package.sh when missing);
# 3. waits for the system key, then deploys again with the subscriptions.
# Re-running is safe: every step is idempotent.
set -euo pipefail

RG=${1:?usage: infra/deploy.sh <resource-group> <params-file>}
PARAMS=${2:?usage: infra/deploy.sh <resource-group> <params-file>}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ -f dist/app.zip ] || scripts/package.sh

echo "deploy: infrastructure"
APP=$(az deployment group create -g "$RG" -f infra/main.bicep -p "$PARAMS" -p deployEventSubscriptions=false \
    --query properties.outputs.functionAppName.value -o tsv)

echo "deploy: package to $APP"
az functionapp deployment source config-zip -g "$RG" -n "$APP" --src dist/app.zip

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

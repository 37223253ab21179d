#!/usr/bin/env bash
# The demo on Azurite, on a fresh machine: installs and starts Azurite (npm), builds, starts devhost
# (the local stand-in for the Functions host) with the real handler, seeds synthetic recordings and
# an audit-log hour blob for two Bastion hosts (each recording into its own container) through the
# product's storage code, then prints the one catalogue's rows, with their host, and tags.
# Usage: scripts/demo.sh        (leaves Azurite running; `scripts/azurite.sh stop` stops it)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/azurite.sh start >/dev/null
# shellcheck disable=SC1091
source .azurite/env
echo "== building"
cargo build --quiet --bin handler --bin devhost --example demo

run_id="demo$(date +%s)"
export AzureWebJobsStorage="$AZURITE_CONNECTION_STRING"
# Two Bastion hosts, each recording into its own container; one audit-log container for both.
export RECORDINGS_SOURCES="AzureWebJobsStorage:rec-weu@bas-hub-weu,AzureWebJobsStorage:rec-neu@bas-hub-neu"
export AUDITLOGS_CONTAINER=insights-logs-bastionauditlogs
export TABLE_PREFIX="$run_id" QUARANTINE_CONTAINER=quarantine RETENTION_POLICY=examples/retention-policy.toml
# A local demo: the function key is the catalogue API's only credential.
export CATALOGUE_AUTH=none
export DEVHOST_PORT=0 DEVHOST_POLL_MS=300 DEVHOST_QUEUE_POLL_MS=300
# devhost watches every source's container (its default watch follows RECORDINGS_SOURCES).
export AUDITLOGS_STORAGE="$AZURITE_CONNECTION_STRING"
export RUST_LOG="${RUST_LOG:-info}"

log=".azurite/devhost-$run_id.log"
target/debug/devhost --app-root . --handler target/debug/handler >"$log" 2>&1 &
devhost=$!
trap 'kill $devhost 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do grep -q "devhost listening" "$log" && break; sleep 0.2; done
grep -m1 "devhost listening" "$log" || { cat "$log"; exit 1; }

echo "== seeding synthetic recordings and an audit-log hour"
target/debug/examples/demo seed
echo "== waiting for devhost → handler to catalogue them and join the audit-log session (log: $log)"
target/debug/examples/demo show --expect 6 --joined 2 --timeout 90
echo
echo "Notifications queued by the handler (queue 'notifications'), handler log lines:"
grep -E "invocation (processed|skipped|poisoned|failed)" "$log" | tail -n 12 || true

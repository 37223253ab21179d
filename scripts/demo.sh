#!/usr/bin/env bash
# The demo on Azurite, on a fresh machine: installs and starts Azurite (npm), builds, starts devhost
# (the local stand-in for the Functions host) with the real handler, seeds synthetic recordings and
# an audit-log hour blob (the current UTC hour) for two Bastion hosts (each recording into its own
# container) through the product's storage code, then waits for the recordings to be catalogued and
# joined with their sessions and prints the one catalogue's rows (host, VM, user, client IP, session
# times, match, class) and tags. Exits non-zero when fewer rows or joined rows than seeded show up.
# With --workspace (or DEMO_AUDIT_SOURCE=workspace) the hour's records come from a Log Analytics
# workspace instead of the archive: the project's loopback fake of the Logs Query API serves them
# (`demo workspace`), the handler's AuditLogQuery timer reads them, and no PT1H.json is written.
# On success the stack keeps running: its last lines print the reviewer's page (no sign-in: a local
# run with CATALOGUE_AUTH=none) and the settings file for the CLI (<state>/demo.env). A failed run
# stops what it started.
# Usage: scripts/demo.sh [--workspace]    run the demo (a demo still running is stopped first)
#        scripts/demo.sh stop             stop what the demo started: devhost, the handler, the
#                                         workspace fake, and Azurite if the demo started it
# AZURITE_STATE_DIR (default ./.azurite) as for scripts/azurite.sh: the demo's files live there too.
set -euo pipefail
cd "$(dirname "$0")/.."
state="${AZURITE_STATE_DIR:-$PWD/.azurite}"
demo_state="$state/demo.state"

# Ends what the recorded demo started; nothing when none runs.
stop_demo() {
  [[ -f "$demo_state" ]] || { echo "demo.sh: no demo is running"; return 0; }
  local pids azurite
  azurite="$(sed -n 's/^azurite=//p' "$demo_state")"
  # Only the demo's own processes (a pid reused since is someone else's).
  pids=""
  for pid in $(sed -n 's/^pids=//p' "$demo_state"); do
    ps -o args= -p "$pid" 2>/dev/null | grep -qE 'devhost|examples/demo' && pids="$pids $pid"
  done
  pids="${pids# }"
  # devhost stops its handler on SIGTERM (the handler is killed after 5 s).
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.2
  done
  for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
  local what="devhost and the handler (pids $pids)"
  if [[ "$azurite" == started ]]; then
    scripts/azurite.sh stop >/dev/null 2>&1 || true
    what="$what and Azurite"
  fi
  rm -f "$demo_state"
  echo "demo.sh: stopped $what"
}

case "${1:-}" in
  stop) stop_demo; exit 0 ;;
  ""|--workspace) ;;
  *) echo "usage: scripts/demo.sh [--workspace] | scripts/demo.sh stop" >&2; exit 2 ;;
esac
source_kind="${DEMO_AUDIT_SOURCE:-archive}"
[[ "${1:-}" == "--workspace" ]] && source_kind=workspace
case "$source_kind" in archive|workspace) ;; *) echo "DEMO_AUDIT_SOURCE: archive or workspace" >&2; exit 2;; esac

# One demo at a time: a running one is stopped, its Azurite kept (and still ours to stop if it was).
prior_azurite=""
if [[ -f "$demo_state" ]]; then
  prior_azurite="$(sed -n 's/^azurite=//p' "$demo_state")"
  sed -i 's/^azurite=.*/azurite=kept/' "$demo_state"
  stop_demo
fi
if scripts/azurite.sh status >/dev/null 2>&1; then azurite="${prior_azurite:-reused}"; else azurite=started; fi
scripts/azurite.sh start >/dev/null
# shellcheck disable=SC1091
source "$state/env"
echo "== building"
cargo build --quiet --bin handler --bin devhost --example demo
bin="${CARGO_TARGET_DIR:-target}/debug"

run_id="demo$(date +%s)"
export AzureWebJobsStorage="$AZURITE_CONNECTION_STRING"
# Two Bastion hosts, each recording into its own container; one audit-log container for both. The
# hosts are named by resource id (examples/demo_seed's subscription and group, which its audit
# records carry), so the page links to each host's own page in the portal. The estate checks stay
# off (BASTION_HOSTS=none): the hosts are not in Azure, and the demo calls no Resource Manager.
hub="/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-hub/providers/Microsoft.Network/bastionHosts"
export RECORDINGS_SOURCES="AzureWebJobsStorage:rec-weu@$hub/bas-hub-weu,AzureWebJobsStorage:rec-neu@$hub/bas-hub-neu"
export BASTION_HOSTS=none
export AUDITLOGS_SOURCES=AzureWebJobsStorage:insights-logs-bastionauditlogs
export TABLE_PREFIX="$run_id" QUARANTINE_CONTAINER=quarantine RETENTION_POLICY=examples/retention-policy.toml
# A local demo: the function key is the catalogue API's only credential.
export CATALOGUE_AUTH=none
export DEVHOST_PORT=0 DEVHOST_POLL_MS=300 DEVHOST_QUEUE_POLL_MS=300
# devhost watches every source's container (its default watch follows the source lists).
export RUST_LOG="${RUST_LOG:-info}"

pids=()
# A failed run ends what it started; a successful one keeps it running (`scripts/demo.sh stop`).
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  if [[ "$azurite" == started ]]; then scripts/azurite.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
seed_flags=()
if [[ "$source_kind" == workspace ]]; then
  # The workspace's customer id, and the fake's loopback URL (plain http: the test setting allows it).
  export AUDITLOGS_WORKSPACES=0d3c7e5a-6b1f-4c2d-9e8f-7a6b5c4d3e2f
  export AUDITLOGS_QUERY_LAG_SECONDS=0 CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK=true
  ws_out="$state/workspace-$run_id.out"
  # The fake is the workspace: it is not configured to read one (its endpoint is not known yet).
  env -u AUDITLOGS_WORKSPACES "$bin/examples/demo" workspace "$AUDITLOGS_WORKSPACES" >"$ws_out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q '^http://' "$ws_out" && break; sleep 0.1; done
  LOGANALYTICS_ENDPOINT="$(grep -m1 '^http://' "$ws_out")" || { cat "$ws_out"; exit 1; }
  export LOGANALYTICS_ENDPOINT
  echo "== audit source: workspace $AUDITLOGS_WORKSPACES (loopback fake of the Logs Query API at $LOGANALYTICS_ENDPOINT)"
  seed_flags=(--no-archive)
fi

log="$state/devhost-$run_id.log"
"$bin/devhost" --app-root . --handler "$bin/handler" >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do grep -q "devhost listening" "$log" && break; sleep 0.2; done
grep -m1 "devhost listening" "$log" || { cat "$log"; exit 1; }
addr="$(grep -m1 -o 'devhost listening addr=[0-9.:]*' "$log" | sed 's/.*addr=//')"
# Blobs already there when a watcher takes its first listing raise no event (as on Azure): seed
# only once every watched container (two recording containers, the audit-log one) has been listed.
for _ in $(seq 1 150); do
  (( $(grep -c "devhost watching function=" "$log") >= 3 )) && break
  sleep 0.2
done

echo "== seeding synthetic recordings and an audit-log hour"
"$bin/examples/demo" seed "${seed_flags[@]}"
echo "== waiting for devhost → handler to catalogue them and join them with their audit-log sessions (log: $log)"
# 3 recordings per host; 2 name a seeded session, the third one no seeded record carries (unjoined).
# The workspace is read by the every-minute AuditLogQuery timer: allow for its first tick.
timeout=90; [[ "$source_kind" == workspace ]] && timeout=150
if ! "$bin/examples/demo" show --expect 6 --joined 4 --timeout "$timeout"; then
  echo "demo.sh: FAILED: the catalogue did not show every seeded recording joined with its session." >&2
  echo "demo.sh: last handler log lines ($log):" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
echo
echo "Notifications queued by the handler (queue 'notifications'), handler log lines:"
grep -E "invocation (processed|skipped|poisoned|failed)" "$log" | tail -n 12 || true

# Keep it running: record what was started, and the settings the CLI needs for the demo's data.
trap - EXIT
{
  echo "pids=${pids[*]}"
  echo "azurite=$azurite"
  echo "url=http://$addr/api/ui"
} >"$demo_state"
env_file="$state/demo.env"
{
  echo "# The demo's settings: source this file, then run target/debug/handler (e.g. catalogue query)."
  for k in AzureWebJobsStorage RECORDINGS_SOURCES BASTION_HOSTS AUDITLOGS_SOURCES TABLE_PREFIX \
           QUARANTINE_CONTAINER RETENTION_POLICY CATALOGUE_AUTH AUDITLOGS_WORKSPACES LOGANALYTICS_ENDPOINT \
           CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK AUDITLOGS_QUERY_LAG_SECONDS; do
    [[ -n "${!k:-}" ]] && printf 'export %s=%q\n' "$k" "${!k}"
  done
} >"$env_file"
today="$(date -u +%F)"
echo
echo "== the demo keeps running"
echo "The reviewer's page: http://$addr/api/ui (no sign-in: a local run with CATALOGUE_AUTH=none)"
echo "The API: http://$addr/api/recordings?from=$today&to=$today"
echo "The CLI on the demo's data: source $env_file && $bin/handler catalogue query --from $today --to $today"
echo "Stop what the demo started: scripts/demo.sh stop"

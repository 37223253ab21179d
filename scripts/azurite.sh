#!/usr/bin/env bash
# Local Azurite for the storage-backed tests: a private, in-memory instance on free loopback ports.
#
#   scripts/azurite.sh start    install Azurite (pinned) into ./.tools if absent, start it, wait until
#                               blob/queue/table answer, write .azurite/env and print its export lines
#                               (so both `eval "$(scripts/azurite.sh start)"` and `. .azurite/env` work)
#   scripts/azurite.sh stop     stop the instance started from this checkout
#   scripts/azurite.sh status   exit 0 and print the endpoints when running, exit 1 otherwise
#
# Needs node + npm on PATH (CI: actions/setup-node). Messages go to stderr, exports to stdout.
set -euo pipefail

AZURITE_VERSION="3.35.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
STATE="$ROOT/.azurite"
ENV_FILE="$STATE/env"
LOG="$STATE/azurite.log"
BIN="$TOOLS/node_modules/.bin/azurite"
# Azurite's published development account key (public; documented by Microsoft, not a secret).
DEV_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

say() { echo "azurite.sh: $*" >&2; }
die() { say "$*"; exit 1; }

installed_version() {
  local pkg="$TOOLS/node_modules/azurite/package.json"
  [[ -f "$pkg" ]] && node -p "require('$pkg').version" 2>/dev/null || true
}

install() {
  command -v node >/dev/null || die "node is not on PATH (install Node.js 18+)"
  command -v npm >/dev/null || die "npm is not on PATH"
  if [[ -x "$BIN" && "$(installed_version)" == "$AZURITE_VERSION" ]]; then
    return
  fi
  say "installing azurite@$AZURITE_VERSION into $TOOLS (one-off)"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >&2
  [[ -x "$BIN" ]] || die "npm install finished but $BIN is missing"
}

# Three distinct free loopback ports, chosen by the OS (node is needed anyway; no python required).
free_ports() {
  node -e '
    const net = require("net");
    const open = () => new Promise(r => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => r(s)); });
    Promise.all([open(), open(), open()]).then(ss => {
      console.log(ss.map(s => s.address().port).join(" "));
      ss.forEach(s => s.close());
    });'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [[ -f "$ENV_FILE" ]] || return 1
  local pid
  pid="$(sed -n 's/.*AZURITE_PID=\([0-9]*\).*/\1/p' "$ENV_FILE" | head -n1)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

launch() {
  local blob queue table pid
  read -r blob queue table < <(free_ports)
  mkdir -p "$STATE"
  nohup "$BIN" --inMemoryPersistence --loose --silent \
    --blobHost 127.0.0.1 --blobPort "$blob" \
    --queueHost 127.0.0.1 --queuePort "$queue" \
    --tableHost 127.0.0.1 --tablePort "$table" >"$LOG" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "azurite exited during start-up (log: $LOG)"; tail -n 20 "$LOG" >&2 || true
      return 1
    fi
    if port_open "$blob" && port_open "$queue" && port_open "$table"; then
      local base="http://127.0.0.1"
      local cs="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$DEV_KEY"
      cs+=";BlobEndpoint=$base:$blob/devstoreaccount1;QueueEndpoint=$base:$queue/devstoreaccount1"
      cs+=";TableEndpoint=$base:$table/devstoreaccount1"
      echo "export AZURITE_PID=$pid TEST_AZURITE=1 AZURITE_CONNECTION_STRING='$cs'" >"$ENV_FILE"
      say "running (pid $pid; blob $blob, queue $queue, table $table); env in $ENV_FILE"
      return 0
    fi
    sleep 0.1
  done
  say "azurite did not open its ports within 30 s (log: $LOG)"
  kill "$pid" 2>/dev/null || true
  return 1
}

start() {
  if running_pid >/dev/null; then
    say "already running"
  else
    install
    # A port picked as free can be taken before Azurite binds it: try again once with new ports.
    launch || launch || die "could not start azurite"
  fi
  cat "$ENV_FILE"
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    say "stopped (pid $pid)"
  else
    say "not running"
  fi
  rm -f "$ENV_FILE"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    say "running (pid $pid)"
    sed -n "s/.*BlobEndpoint=\([^;]*\);QueueEndpoint=\([^;]*\);TableEndpoint=\([^']*\).*/blob  \1\nqueue \2\ntable \3/p" "$ENV_FILE"
  else
    say "not running"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

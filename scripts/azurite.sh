#!/usr/bin/env bash
# Local Azurite for the storage-backed tests: a private, in-memory instance on free loopback ports.
#
#   scripts/azurite.sh start    install Azurite (pinned) into ./.tools if absent, start it, wait until
#                               blob/queue/table answer, write .azurite/env and print its export lines
#                               (so both `eval "$(scripts/azurite.sh start)"` and `. .azurite/env` work)
#   scripts/azurite.sh stop     stop the instance started from this checkout
#   scripts/azurite.sh status   exit 0 and print the endpoints when running, exit 1 otherwise
#
# More accounts (several storage accounts for multi-source runs and tests): AZURITE_EXTRA_ACCOUNTS=stweu,stneu
# scripts/azurite.sh start serves those accounts besides devstoreaccount1 (Azurite's AZURITE_ACCOUNTS,
# which replaces devstoreaccount1 unless it is listed, so it always is) and adds one line per account to
# .azurite/env: AZURITE_CONNECTION_STRING_<NAME> (upper case), same ports, a random key per start. A
# running instance serving another set of accounts is restarted. Unset, nothing changes: the one account,
# the one line.
# AZURITE_STATE_DIR (default ./.azurite) keeps a second instance apart, e.g. the backfill bench's,
# which restarts its own for every contestant without touching the one the tests use.
#
# Needs node + npm on PATH (CI: actions/setup-node). Messages go to stderr, exports to stdout.
set -euo pipefail

AZURITE_VERSION="3.35.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
STATE="${AZURITE_STATE_DIR:-$ROOT/.azurite}"
ENV_FILE="$STATE/env"
LOG="$STATE/azurite.log"
BIN="$TOOLS/node_modules/.bin/azurite"
# Azurite's published development account key (public; documented by Microsoft, not a secret).
DEV_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

say() { echo "azurite.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# EXTRAS: the extra accounts asked for, comma-separated: sorted, de-duplicated, devstoreaccount1 left
# out (always served). Not in a subshell, so that a bad name stops the script.
EXTRAS=""
resolve_extras() {
  local a out=()
  IFS=',' read -r -a list <<<"${AZURITE_EXTRA_ACCOUNTS:-}"
  for a in "${list[@]}"; do
    a="${a//[[:space:]]/}"
    [[ -z "$a" || "$a" == devstoreaccount1 ]] && continue
    # Azure's (and Azurite's) rule for account names.
    [[ "$a" =~ ^[a-z0-9]{3,24}$ ]] || die "AZURITE_EXTRA_ACCOUNTS: '$a' is not 3-24 lower-case letters and digits"
    out+=("$a")
  done
  if ((${#out[@]})); then
    EXTRAS="$(printf '%s\n' "${out[@]}" | sort -u | paste -sd, -)"
  fi
}

# The extra accounts the running instance serves (recorded in the env file).
running_accounts() {
  sed -n 's/^# extra accounts: //p' "$ENV_FILE" 2>/dev/null | head -n1
}

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
  local blob queue table pid extras accounts a
  local -a with_accounts=()
  local -A keys=()
  extras="$EXTRAS"
  if [[ -n "$extras" ]]; then
    accounts="devstoreaccount1:$DEV_KEY"
    for a in ${extras//,/ }; do
      keys[$a]="$(head -c 64 /dev/urandom | base64 -w0)"
      accounts+=";$a:${keys[$a]}"
    done
    with_accounts=(env "AZURITE_ACCOUNTS=$accounts")
  fi
  read -r blob queue table < <(free_ports)
  mkdir -p "$STATE"
  # AZURITE_ACCOUNTS only when extra accounts are asked for: otherwise Azurite starts exactly as before.
  "${with_accounts[@]}" nohup "$BIN" --inMemoryPersistence --loose --silent \
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
      conn() {
        echo "DefaultEndpointsProtocol=http;AccountName=$1;AccountKey=$2;BlobEndpoint=$base:$blob/$1;QueueEndpoint=$base:$queue/$1;TableEndpoint=$base:$table/$1"
      }
      echo "export AZURITE_PID=$pid TEST_AZURITE=1 AZURITE_CONNECTION_STRING='$(conn devstoreaccount1 "$DEV_KEY")'" >"$ENV_FILE"
      if [[ -n "$extras" ]]; then
        echo "# extra accounts: $extras" >>"$ENV_FILE"
        for a in ${extras//,/ }; do
          echo "export AZURITE_CONNECTION_STRING_${a^^}='$(conn "$a" "${keys[$a]}")'" >>"$ENV_FILE"
        done
      fi
      say "running (pid $pid; blob $blob, queue $queue, table $table; accounts devstoreaccount1${extras:+,$extras}); env in $ENV_FILE"
      return 0
    fi
    sleep 0.1
  done
  say "azurite did not open its ports within 30 s (log: $LOG)"
  kill "$pid" 2>/dev/null || true
  return 1
}

start() {
  resolve_extras
  if running_pid >/dev/null && [[ "$(running_accounts)" != "$EXTRAS" ]]; then
    say "restarting: the accounts asked for (AZURITE_EXTRA_ACCOUNTS) differ from the running instance's"
    stop
  fi
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
    head -n1 "$ENV_FILE" |
      sed -n "s/.*BlobEndpoint=\([^;]*\);QueueEndpoint=\([^;]*\);TableEndpoint=\([^']*\).*/blob  \1\nqueue \2\ntable \3/p"
    local extras
    extras="$(running_accounts)"
    [[ -z "$extras" ]] || echo "extra accounts: $extras"
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

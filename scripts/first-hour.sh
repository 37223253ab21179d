#!/usr/bin/env bash
# A newcomer's first hour, checked: runs the quick start of docs/devhost.md exactly as written (the
# ```sh block under "## Quick start"), then scripts/demo.sh, opens the page it prints, and
# scripts/demo.sh stop, checking that the stack keeps running until then and is gone after; then
# scripts/demo.sh --workspace and its stop. The quick start keeps its own Azurite in
# .azurite-quickstart/ and is run beside another one it must leave running; the demos get their own
# (AZURITE_STATE_DIR in a temporary directory, free ports, DEVHOST_PORT a free port), so the Azurite
# of the caller (scripts/test.sh) is never stopped. A fresh clone's shell has no CARGO_TARGET_DIR: the quick
# start's target/debug paths are taken as written.
# Usage: scripts/first-hour.sh            (scripts/test.sh runs it before cargo test)
set -euo pipefail
cd "$(dirname "$0")/.."
unset CARGO_TARGET_DIR
work="$(mktemp -d)"
trap 'AZURITE_STATE_DIR="$PWD/.azurite-quickstart" scripts/azurite.sh stop >/dev/null 2>&1 || true
      AZURITE_STATE_DIR="$work/beside" scripts/azurite.sh stop >/dev/null 2>&1 || true
      AZURITE_STATE_DIR="$work/demo" scripts/demo.sh stop >/dev/null 2>&1 || true
      AZURITE_STATE_DIR="$work/demo-workspace" scripts/demo.sh stop >/dev/null 2>&1 || true
      rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() { echo "first-hour.sh: FAILED: $*" >&2; exit 1; }

echo "== docs/devhost.md quick start, as written"
awk '/^## Quick start/{q=1} q&&/^```sh$/{b=1; next} b&&/^```$/{exit} b' docs/devhost.md >"$work/quickstart.sh"
[[ -s "$work/quickstart.sh" ]] || fail "no \`\`\`sh block under '## Quick start' in docs/devhost.md"
# Beside a running demo's Azurite, the one scripts/azurite.sh would find (AZURITE_STATE_DIR): the
# quick start keeps to its own and leaves that one running, and no file untracked in the repository.
AZURITE_STATE_DIR="$work/beside" scripts/azurite.sh start >/dev/null
untracked="$(git ls-files --others --exclude-standard)"
AZURITE_STATE_DIR="$work/beside" DEVHOST_PORT="$(free_port)" \
  timeout 900 bash -euo pipefail "$work/quickstart.sh" >"$work/quickstart.out" 2>&1 ||
  { tail -n 30 "$work/quickstart.out" >&2; fail "the quick start of docs/devhost.md does not run as written"; }
grep -q '"status"' "$work/quickstart.out" || fail "the quick start's /api/health printed no status"
AZURITE_STATE_DIR="$work/beside" scripts/azurite.sh status >/dev/null || fail "the quick start stopped a running demo's Azurite"
[[ "$(git ls-files --others --exclude-standard)" == "$untracked" ]] ||
  fail "the quick start left files untracked: $(git ls-files --others --exclude-standard)"
AZURITE_STATE_DIR="$work/beside" scripts/azurite.sh stop >/dev/null
echo "ok"

echo "== scripts/demo.sh keeps the stack running and prints the page"
export AZURITE_STATE_DIR="$work/demo"
timeout 900 scripts/demo.sh >"$work/demo.out" 2>&1 || { tail -n 30 "$work/demo.out" >&2; fail "scripts/demo.sh"; }
tail -n 6 "$work/demo.out"
url="$(grep -o "The reviewer's page: http://[^ ]*" "$work/demo.out" | sed 's/.*page: //')"
[[ -n "$url" ]] || fail "scripts/demo.sh printed no page address"
tail -n 6 "$work/demo.out" | grep -q "scripts/demo.sh stop" || fail "the demo's last lines do not say how to stop it"
page="$(curl -fsS "$url")" || fail "the page $url does not answer after the demo"
grep -qi "<html" <<<"$page" || fail "$url is not the page"
api="${url%/api/ui}/api/recordings?from=$(date -u +%F)&to=$(date -u +%F)"
# The demo seeds the current hour; a run across midnight may find them under yesterday.
curl -fsS "$api" | grep -q '"items":\[{' || curl -fsS "${api//$(date -u +%F)/$(date -u -d yesterday +%F)}" | grep -q '"items":\[{' ||
  fail "the demo's rows are not served at $api"
# shellcheck disable=SC1091
(source "$work/demo/demo.env" && target/debug/handler catalogue query --from "$(date -u -d yesterday +%F)" --to "$(date -u +%F)" 2>&1 | grep -q "recording(s)") ||
  fail "the demo's settings file does not reach the demo's data"
pids="$(sed -n 's/^pids=//p' "$work/demo/demo.state")"
scripts/demo.sh stop
for pid in $pids; do ! kill -0 "$pid" 2>/dev/null || fail "pid $pid still runs after scripts/demo.sh stop"; done
! curl -fsS -o /dev/null "$url" 2>/dev/null || fail "$url still answers after scripts/demo.sh stop"
! scripts/azurite.sh status >/dev/null 2>&1 || fail "the demo's Azurite still runs after scripts/demo.sh stop"
echo "ok"

echo "== scripts/demo.sh --workspace (docs/workspaces.md): the hour's records from the workspace fake"
export AZURITE_STATE_DIR="$work/demo-workspace"
timeout 900 scripts/demo.sh --workspace >"$work/demo-workspace.out" 2>&1 ||
  { tail -n 30 "$work/demo-workspace.out" >&2; fail "scripts/demo.sh --workspace"; }
grep -q "audit source: workspace" "$work/demo-workspace.out" || fail "scripts/demo.sh --workspace did not read a workspace"
scripts/demo.sh stop
echo "ok"

#!/usr/bin/env bash
# Runs every check and test, on a fresh machine: installs and starts Azurite (npm) on free ports,
# then fmt, clippy, all unit/component/e2e tests with TEST_AZURITE=1 (the fault tier in tests/e2e/faults
# included) and TEST_UI=1 (the timeline page and the Teams cards in headless Chromium, the Slack
# and Standard Webhooks payloads with their Python libraries; scripts/browser.sh installs Debian's
# chromium and playwright-core, scripts/pytools.sh slack_sdk and standardwebhooks, first; the
# download-link test needs the openssl CLI), and the infra checks.
# Usage: scripts/test.sh            (CI calls exactly this)
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints its wall time when the next one starts, so a slow CI run says where its time went.
START=$(date +%s)
STEP_START=$START
STEP_NAME=""
step() {
  local now
  now=$(date +%s)
  [ -z "$STEP_NAME" ] || echo "   ($STEP_NAME took $((now - STEP_START)) s; $((now - START)) s so far)"
  STEP_NAME="$1"
  STEP_START=$now
  echo "== $1"
}

# Two more accounts: the multi-source tests run two Bastion hosts in two accounts and a third nobody
# configured (tests/e2e/sources/).
export AZURITE_EXTRA_ACCOUNTS=stweu,stneu
scripts/azurite.sh start
# shellcheck disable=SC1091
source .azurite/env
PACKAGE_PID=""
BROWSER_PID=""
TOOLS_PID=""
INFRA_PID=""
trap '[ -z "$PACKAGE_PID" ] || kill -- "-$PACKAGE_PID" 2>/dev/null || true
      [ -z "$TOOLS_PID" ] || kill -- "-$TOOLS_PID" 2>/dev/null || true
      [ -z "$INFRA_PID" ] || kill -- "-$INFRA_PID" 2>/dev/null || true
      [ -z "$BROWSER_PID" ] || kill -- "-$BROWSER_PID" 2>/dev/null || true
      scripts/azurite.sh stop >/dev/null 2>&1 || true' EXIT

# Waits for the background job whose pid the variable named $1 holds (none: nothing to wait for) and
# clears it. Failed: the last 60 lines of its log $2, then the run stops naming $3. Done: the last $4
# lines of the log (`all`, or 0).
joined() {
  local pid=${!1}
  [ -n "$pid" ] || return 0
  if ! wait "$pid"; then
    printf -v "$1" '%s' ""
    tail -n 60 "$2" >&2
    echo "test.sh: $3 failed (whole log: $2)" >&2
    exit 1
  fi
  printf -v "$1" '%s' ""
  case "$4" in
    all) cat "$2" ;;
    0) ;;
    *) tail -n "$4" "$2" ;;
  esac
}

# A package left by an earlier run is of other code: the package tests run against the one
# scripts/ci-infra.sh assembles below (they skip when dist/ is absent).
rm -rf dist
step "Python client libraries for the notification checks (slack_sdk, standardwebhooks)"
# First: it makes .tools/venv (and installs Debian's python3-venv if missing), which the release
# build below also uses for its tools.
scripts/pytools.sh
step "release build for the package, started in the background"
# The release build (fat LTO: its last minutes run on one core) does not depend on any check before
# the infra step, so it runs at the lowest priority beside them and takes the cores they leave idle
# (downloads, installs, the newcomer's demo, tests waiting on Azurite); the infra step waits for it
# and then only assembles dist/. It writes target/<triple>/release, never the tests' target/debug.
mkdir -p target
# setsid: the build is its own process group, so the exit trap stops cargo and rustc with it.
PACKAGE_BUILD_ONLY=1 setsid nice -n 19 scripts/package.sh >target/package-build.log 2>&1 &
PACKAGE_PID=$!
step "cargo-machete and cargo-deny, built in the background"
# Their builds (3.5 min of a fresh run's foreground before) need nothing the checks before the
# tests make, so they take the idle cores beside them at the lowest priority, as the release
# build does; the two checks run after cargo test.
TOOLS_PID=""
if [ ! -x .tools/cargo/bin/cargo-machete ] || [ ! -x .tools/cargo/bin/cargo-deny ]; then
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid nice -n 19 bash -c 'set -euo pipefail
    # Built without optimisation (--debug): cargo-deny 0.20.2 built in 2 min 3 s of CPU that way
    # against 5 min 51 s optimised, and its check then takes 8 s instead of 2 s.
    [ -x .tools/cargo/bin/cargo-machete ] ||
      cargo install --quiet --locked --debug cargo-machete --version 0.9.2 --root .tools/cargo
    [ -x .tools/cargo/bin/cargo-deny ] ||
      cargo install --quiet --locked --debug cargo-deny --version 0.20.2 --root .tools/cargo' \
    >target/tools-build.log 2>&1 &
  TOOLS_PID=$!
fi
step "browser for the UI test (chromium, playwright-core), openssl and the infra checks' tools, installed in the background"
# Downloads, not work: scripts/browser.sh took 80 s of wall time for 5.5 s of CPU (apt and npm ci on a
# machine without them), so it runs beside the compiling steps below; cargo test waits for it. After
# scripts/pytools.sh, so no two apt-get run at once.
# shellcheck disable=SC2016 # expanded by the inner shell
setsid bash -c 'set -euo pipefail
  scripts/browser.sh
  # The download-link e2e test makes a throwaway CA and certificate for Azurite in HTTPS/OAuth mode.
  if ! command -v openssl >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openssl >/dev/null
  fi
  # checkov (pip) and the Kusto language service (npm) for the infra step, needed last: 57 s of wall
  # time for 47 s of CPU (pip), so at the lowest priority.
  nice -n 19 scripts/ci-infra.sh --tools-only' >target/browser-install.log 2>&1 &
BROWSER_PID=$!
step "cargo fmt"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
step "cargo doc (broken or private links fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --quiet
step "a newcomer's first hour: docs/devhost.md's quick start as written, scripts/demo.sh and its stop"
scripts/first-hour.sh
step "waiting for the browser install"
joined BROWSER_PID target/browser-install.log "installing the browser, openssl or the infra checks' tools" all
step "infra checks (checkov, Bicep, KQL, preflight, cost model), started in the background"
# 92 s of wall time for 114 s of CPU, mostly one core, with no Azurite or cargo: the e2e tests below
# leave about a core idle (Azurite serves them on one), so the checks take it at the lowest
# priority; the packaging part waits for the release build, at the end.
setsid nice -n 19 scripts/ci-infra.sh --checks-only >target/infra-checks.log 2>&1 &
INFRA_PID=$!
step "handler-in-memory (the e2e tests and benchmarks spawn it beside handler)"
cargo build --locked -p bastion-testkit --bins
step "cargo test (unit, component, real-process e2e, UI; Azurite: ${AZURITE_CONNECTION_STRING%%;AccountKey*}…)"
TEST_AZURITE=1 TEST_UI=1 cargo test --locked
step "waiting for cargo-machete and cargo-deny"
joined TOOLS_PID target/tools-build.log "building cargo-machete or cargo-deny" 0
step "cargo machete (unused dependencies)"
.tools/cargo/bin/cargo-machete
step "cargo deny (licenses, bans, sources)"
.tools/cargo/bin/cargo-deny deny --log-level error check licenses bans sources
step "waiting for the background release build"
joined PACKAGE_PID target/package-build.log "the release build" 3
step "waiting for the infra checks"
joined INFRA_PID target/infra-checks.log "the infra checks" all
step "packaging checks (dist/, the package, release and settings drift tests)"
scripts/ci-infra.sh --package-only
step "done"

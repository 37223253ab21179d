#!/usr/bin/env bash
# RecordingCreated on Azurite: the real handler (release build, JSON logs as under the host) beside a
# bare client making the same storage calls, at concurrency 16 and 64 (benches/azurite.rs).
# Starts Azurite when AZURITE_CONNECTION_STRING is not set. Extra arguments go to the bench
# (`-- --recordings 2000 --concurrency 16,64`); BENCH_HANDLER_BIN=path[,path] adds other builds.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${AZURITE_CONNECTION_STRING:-}" ]; then
  scripts/azurite.sh start
  # shellcheck disable=SC1091
  source .azurite/env
  trap 'scripts/azurite.sh stop >/dev/null 2>&1 || true' EXIT
fi
cargo bench --bench azurite "$@"

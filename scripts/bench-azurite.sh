#!/usr/bin/env bash
# RecordingCreated on Azurite: the real handler (release build, JSON logs as under the host) beside a
# bare client making the same storage calls (checked equal, operation by operation, against the
# handler's own code path), at concurrency 16 and 64, in interleaved rounds (benches/azurite/).
# Starts Azurite when AZURITE_CONNECTION_STRING is not set. Extra arguments go to the bench
# (`-- --recordings 2000 --concurrency 16,64 --rounds 3`); BENCH_HANDLER_BIN=path[,path] adds other
# builds (before/after in one run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${AZURITE_CONNECTION_STRING:-}" ]; then
  scripts/azurite.sh start >/dev/null
  # shellcheck disable=SC1091
  source .azurite/env
  trap 'scripts/azurite.sh stop >/dev/null 2>&1 || true' EXIT
fi
cargo bench --bench azurite "$@"

#!/usr/bin/env bash
# RetentionSweep benchmark: 10,000 tagged blobs with 100 expired vs 100 blobs all expired, one sweep
# run each, medians and ratio (goal <= 1.5). In-memory always; Azurite when TEST_AZURITE=1 and
# AZURITE_CONNECTION_STRING are set (e.g. eval "$(/work/.tools/azurite-start.sh)" or scripts/azurite.sh).
# BENCH_PROFILE=dev builds the bench unoptimised (quicker to build on a busy machine; its figures are
# then a dev build's).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --profile "${BENCH_PROFILE:-bench}" --bench retention

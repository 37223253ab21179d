#!/usr/bin/env bash
# Read-only checks of every precondition of a deployment (infra/deploy.sh runs it first):
#   infra/preflight.sh <params-file> <resource-group>
# Prints one table (check, target, result, detail); exits 1 on a blocking finding. Only `az` show/list
# queries, `az bicep build-params` and GET requests: nothing is created or changed.
# Tests: infra/tests/preflight/run.py replays recorded az answers (scripts/ci-infra.sh runs it).
set -euo pipefail

if [ "$#" -ne 2 ]; then
    echo "usage: infra/preflight.sh <params-file> <resource-group>" >&2
    exit 2
fi
exec python3 "$(dirname "${BASH_SOURCE[0]}")/preflight.py" "$1" "$2"

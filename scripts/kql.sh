#!/usr/bin/env bash
# Checks the KQL shipped for Microsoft Sentinel (analytics rules, ASIM parser, workbook queries)
# with Microsoft's Kusto language service, npm @kusto/language-service-next pinned in
# tests/kql/package-lock.json, against the declared table schemas (tests/kql/check.mjs says what
# else it checks). Installs the package (npm ci) when it is missing or older than the lock file.
# Usage: scripts/kql.sh                 (scripts/ci-infra.sh runs it)
#        scripts/kql.sh --install-only  (the install alone: scripts/test.sh runs it in the background)
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=tests/kql/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ tests/kql/package-lock.json -nt "$stamp" ]; then
  echo "== installing @kusto/language-service-next (npm ci in tests/kql)"
  (cd tests/kql && npm ci --no-audit --no-fund --loglevel=error)
fi
[ "${1:-}" = --install-only ] && exit 0
node tests/kql/check.mjs

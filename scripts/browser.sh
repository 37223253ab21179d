#!/usr/bin/env bash
# Installs what the browser test (tests/ui, run by the e2e test `ui` when TEST_UI=1) needs, and
# only what is missing: Debian's `chromium` package, and from tests/ui's lock file (`npm ci`)
# playwright-core, adaptivecards and markdown-it (the Teams card renderer, tests/ui/cards.mjs),
# and axe-core (the accessibility rules tests/ui/reviewer.mjs runs in the page).
# playwright-core drives that chromium; it never downloads a browser of its own. Also Debian's
# poppler-utils (pdfinfo, pdftotext, pdftoppm), with which the e2e test checks the evidence PDF.
# Usage: scripts/browser.sh        (scripts/test.sh calls it; safe to run again)
set -euo pipefail
cd "$(dirname "$0")/.."

chromium_bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium_bin" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing chromium (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-dejavu-core >/dev/null
fi

if ! command -v pdftoppm >/dev/null || ! command -v pdfinfo >/dev/null || ! command -v pdftotext >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing poppler-utils (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null
fi

# npm ci only when node_modules is missing or older than the lock file.
stamp=tests/ui/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ tests/ui/package-lock.json -nt "$stamp" ]; then
  echo "== installing playwright-core (npm ci in tests/ui)"
  (cd tests/ui && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
echo "browser: $("$chromium_bin" --version 2>/dev/null | head -n 1)"

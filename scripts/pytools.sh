#!/usr/bin/env bash
# Installs the Python libraries the client checks use (tests/clients/requirements.txt: Slack's
# slack_sdk, standardwebhooks) into .tools/venv, and only when missing or when the requirements
# changed. scripts/test.sh calls it; the e2e test `notify::clients` runs .tools/venv/bin/python.
# Usage: scripts/pytools.sh        (safe to run again)
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.tools/venv
req=tests/clients/requirements.txt
stamp=$venv/.requirements
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$stamp"; then
  echo "== installing $(grep -v '^#' "$req" | tr '\n' ' ')into $venv"
  # Debian's python3 ships venv separately: install it when the module is missing.
  if ! python3 -m venv --help >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
  fi
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi
echo "pytools: $("$venv/bin/python" -c 'import slack_sdk, standardwebhooks; print("slack_sdk", slack_sdk.version.__version__)')"

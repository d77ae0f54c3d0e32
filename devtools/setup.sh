#!/usr/bin/env bash
# Installs what RoomCal needs to run and test locally, from nothing: a Python 3.11 venv with
# the runtime and dev requirements, the npm packages (Azurite, Chart.js for the admin page, axe-core
# for its accessibility tests), for browser tests Debian's Chromium, and the static-check tools (checkov,
# pip-audit, pip-tools) in .venv-tools. Each part is skipped when already done; `make setup` calls the parts it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .stamps

python_part() {
  local py="${PYTHON:-}"
  if [ -z "$py" ]; then
    for candidate in python3.11 python3; do
      if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))'; then
        py="$candidate"; break
      fi
    done
  fi
  if [ -z "$py" ]; then
    echo "setup: Python 3.11+ not found; installing Debian's python3 (3.11 on bookworm)" >&2
    apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
    py=python3
  fi
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  touch .stamps/venv
}

tools_part() {
  [ -x .venv/bin/python ] || python_part
  [ -x .venv-tools/bin/python ] || .venv/bin/python -m venv .venv-tools
  .venv-tools/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv-tools/bin/python -m pip install -q -r requirements-tools.txt
  touch .venv-tools/installed
}

node_part() {
  if ! command -v npm >/dev/null; then
    echo "setup: npm not found; installing Debian's nodejs and npm" >&2
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
  npm ci --no-audit --no-fund --loglevel=error
  # The admin page ships Chart.js from the package (never a CDN): keep the committed copy equal to the locked one.
  cp node_modules/chart.js/dist/chart.umd.min.js shared/admin/static/chart.umd.min.js
  cp node_modules/chart.js/LICENSE.md shared/admin/static/chart.js-LICENSE.txt
  touch .stamps/npm
}

browser_part() {
  if ! command -v chromium >/dev/null; then
    echo "setup: installing Debian's chromium for the browser tests (a minute or two)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  touch .stamps/browser
}

for part in "${@:-python node}"; do
  "${part}_part"
done

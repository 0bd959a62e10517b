#!/usr/bin/env bash
# Install papersift for development on a fresh Debian/Ubuntu machine:
#   - a virtual environment in .venv with papersift and its [dev] extras (no torch),
#   - Debian's chromium for the browser tests (Playwright drives it; no browser download),
#   - Debian's postgresql server binaries (the tests start a throw-away server for the
#     production database path; nothing is left running).
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

NEED=()
command -v chromium >/dev/null 2>&1 || NEED+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || NEED+=(postgresql)
if [ ${#NEED[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${NEED[@]}" >/dev/null
  # the package starts a cluster of its own; the tests don't use it
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
# An editable install compiles no bytecode, and a shell with PYTHONDONTWRITEBYTECODE never
# writes any: without this every cold `papersift search` would recompile the package (~0.2 s).
.venv/bin/python -m compileall -q papersift >/dev/null
echo "papersift installed in .venv ($(.venv/bin/papersift --version))"

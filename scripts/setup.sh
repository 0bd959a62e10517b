#!/usr/bin/env bash
# Install papersift for development on a fresh Debian/Ubuntu machine:
#   - a virtual environment in .venv with papersift and its [dev] extras (no torch),
#   - Debian's chromium for the browser tests (Playwright drives it; no browser download).
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
echo "papersift installed in .venv ($(.venv/bin/papersift --version))"

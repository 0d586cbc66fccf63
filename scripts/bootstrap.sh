#!/usr/bin/env bash
# Install everything GameMetrics needs on a fresh Debian machine (run as root), idempotently:
# Python 3.11+ with venv, the project and its Python dependencies in .venv/, then the local
# stack's own needs (`gamemetrics stack install`: PostgreSQL, Redis, Java, Maven, Kafka jars).
# Sourced by scripts/demo.sh and scripts/test.sh; leaves .venv/bin first on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing $*; run as root or install them" >&2; exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  apt_install python3 python3-venv python3-pip
  PYTHON=python3
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
# shellcheck disable=SC1091
. .venv/bin/activate
STAMP=.venv/.installed
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "==> pip install -e '.[dev]'"
  python -m pip install -q --upgrade pip
  python -m pip install -q -e '.[dev]'
  touch "$STAMP"
fi
# The dashboard test drives Debian's chromium through Playwright (never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
  echo "==> apt-get install chromium"
  apt_install chromium
fi
echo "==> gamemetrics stack install"
gamemetrics stack install

#!/usr/bin/env bash
# Install everything GameMetrics needs on a fresh Debian machine (run as root), idempotently:
# Python 3.11+ with venv, the project and its Python dependencies in .venv/, then the local
# stack's own needs (`gamemetrics stack install`: PostgreSQL, Redis, Java, Maven, Kafka jars, and
# TimescaleDB from $GAMEMETRICS_STACK_TIMESCALEDB_BUNDLE, default ../shared/timescaledb, when it is there).
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
# The compiled Avro codec (native/gamemetrics_avro, Rust + pyo3, built by maturin): optional, the
# code falls back to fastavro without it (schemas.wire.NATIVE says whether it is installed). Rebuilt when
# its sources are newer than the stamp; needs cargo/rustc >= 1.85 (rustup), not Debian's older one.
NATIVE_DIR=native/gamemetrics_avro
NATIVE_STAMP=.venv/.native-installed
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
native_stale() {
  [ ! -f "$NATIVE_STAMP" ] || ! python -c 'import gamemetrics_avro' 2>/dev/null \
    || [ -n "$(find "$NATIVE_DIR" -path "$NATIVE_DIR/target" -prune -o -type f -newer "$NATIVE_STAMP" -print -quit)" ]
}
if native_stale; then
  rust_version="$(rustc --version 2>/dev/null | awk '{print $2}' || true)"
  if ! command -v cargo >/dev/null || [ -z "$rust_version" ]; then
    echo "warning: cargo not found: the native Avro codec is not built, fastavro is used (slower)." >&2
    echo "         install Rust (https://rustup.rs) and re-run to build it." >&2
  elif [ "$(printf '%s\n' 1.85 "$rust_version" | sort -V | head -n1)" != 1.85 ]; then
    echo "warning: rustc $rust_version is older than 1.85: the native Avro codec is not built, fastavro is used." >&2
  else
    echo "==> pip install ./$NATIVE_DIR (cargo build, about a minute the first time)"
    if python -m pip install -q "./$NATIVE_DIR"; then
      touch "$NATIVE_STAMP"
    else
      echo "warning: building the native Avro codec failed (see above): fastavro is used." >&2
    fi
  fi
fi
# The dashboard test drives Debian's chromium through Playwright (never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
  echo "==> apt-get install chromium"
  apt_install chromium
fi
# The client-compatibility tests (tests/clients) drive the official Segment Node and GameAnalytics JS
# SDKs, pinned in tests/clients/js/package-lock.json, from the npm registry.
if ! command -v npm >/dev/null; then
  echo "==> apt-get install nodejs npm"
  apt_install nodejs npm
fi
if [ ! -f tests/clients/js/node_modules/.package-lock.json ] || [ tests/clients/js/package-lock.json -nt tests/clients/js/node_modules/.package-lock.json ]; then
  echo "==> npm ci (tests/clients/js)"
  (cd tests/clients/js && npm ci --no-audit --no-fund --loglevel=error)
fi
# Deployment checks (helm/, deploy/, Containerfile): podman builds and runs the image in the tests
# (../shared/CONTAINERS.md: root podman with runc; mmdebstrap makes the base image); the chart and
# workflow tools come pinned from the Go module proxy (scripts/tools.sh, cached outside the work
# tree, a no-op once installed; grype only in CI's image job).
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v mmdebstrap >/dev/null; then
  echo "==> apt-get install podman runc mmdebstrap"
  apt_install podman runc mmdebstrap
fi
bash scripts/tools.sh helm kubeconform promtool helm-unittest actionlint syft
export PATH="${GAMEMETRICS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gamemetrics/tools}/bin:$PATH"
echo "==> gamemetrics stack install"
gamemetrics stack install

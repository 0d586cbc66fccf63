#!/usr/bin/env bash
# Install what the demo needs on a fresh Debian machine (run as root), idempotently: Python 3.11+
# with venv, the project and its locked runtime dependencies (requirements.lock) in .venv/, the
# native Avro codec when a Rust toolchain is there, then the local stack's own needs (`gamemetrics
# stack install --no-s3`: PostgreSQL, Redis, Java, Maven, Kafka jars, and TimescaleDB from its bundle
# when there is one). Sourced by scripts/demo.sh and scripts/test.sh; leaves .venv/bin first on PATH.
# What only the tests need (dev packages, chromium, podman, mmdebstrap, the deployment tools, the S3
# server) is installed by scripts/test.sh through scripts/test_deps.sh.
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
# pip_locked LOCK: the exact versions of LOCK, then the project itself (editable, no other deps).
# Re-run only when the lock or pyproject.toml changed (a stamp per lock file).
pip_locked() {
  local lock="$1" stamp=".venv/.installed-$1"
  if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> pip install -r $lock (exact pins) and the project"
    python -m pip install -q --disable-pip-version-check -r "$lock"
    python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . 2>/dev/null \
      || python -m pip install -q --disable-pip-version-check --no-deps -e .
    touch "$stamp"
  fi
}
pip_locked requirements.lock
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
echo "==> gamemetrics stack install --no-s3"
gamemetrics stack install --no-s3

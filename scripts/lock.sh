#!/usr/bin/env bash
# Regenerate the lock files from pyproject.toml with uv (pip install uv, or any uv on PATH):
#   requirements.lock      the runtime dependencies (bootstrap for the demo, scripts/image.sh, the Containerfile)
#   requirements-dev.lock  runtime + the dev extras (scripts/test.sh, CI)
# Exact pins for Python 3.11.2 (Debian 12) and later on Linux, so two installs on different days get the same packages.
# A constraints file (e.g. `pip freeze` of a venv the tests passed in) keeps those versions: LOCK_CONSTRAINTS=FILE.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV="${UV:-uv}"
args=(--python-version 3.11.2 --python-platform x86_64-unknown-linux-gnu --no-header --annotation-style line -q)
if [ -n "${LOCK_CONSTRAINTS:-}" ]; then args+=(-c "$LOCK_CONSTRAINTS"); fi
header='# Locked from pyproject.toml by scripts/lock.sh (uv, exact pins, Python 3.11.2 (Debian 12) and later on Linux). Do not edit by hand.'
for spec in "requirements.lock:" "requirements-dev.lock:--extra=dev"; do
  out="${spec%%:*}" extra="${spec#*:}"
  "$UV" pip compile pyproject.toml ${extra:+"$extra"} "${args[@]}" -o "$out.tmp"
  { echo "$header"; cat "$out.tmp"; } > "$out" && rm -f "$out.tmp"
  echo "$out: $(grep -c '==' "$out") packages"
done

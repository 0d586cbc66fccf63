#!/usr/bin/env bash
# Quick start, command 1: install what the demo needs (scripts/bootstrap.sh), start Kafka/PostgreSQL/Redis, the ingest service
# and a landing worker, run a demo load and print what landed, where to look and how to stop.
# Extra arguments go to `gamemetrics demo` (e.g. --duration 120 --rate 5000).
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
gamemetrics demo "$@"
echo "(the gamemetrics command lives in $ROOT/.venv/bin: run 'source .venv/bin/activate' first)"

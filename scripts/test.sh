#!/usr/bin/env bash
# Quick start, command 2: install what the demo needs (bootstrap.sh) and what only the tests need
# (test_deps.sh), start the services the tests need, run all tests (fast unit tests and the
# integration tests on the real Kafka, PostgreSQL and Redis).
# Extra arguments go to pytest.
set -euo pipefail
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/test_deps.sh"
echo "==> gamemetrics stack up"
gamemetrics stack up >/dev/null
echo "==> pytest"
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"

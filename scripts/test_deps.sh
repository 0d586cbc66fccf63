#!/usr/bin/env bash
# What only the tests need, on top of scripts/bootstrap.sh (sourced after it by scripts/test.sh;
# run as root on Debian, idempotent): the dev packages (requirements-dev.lock), Debian's chromium
# (the dashboard test drives it through Playwright; never `playwright install`), podman, runc and
# mmdebstrap (the image is built and run in tests/deploy), Node and the JS SDKs of tests/clients (npm ci), the pinned chart and workflow tools
# (scripts/tools.sh: helm, kubeconform, promtool, helm-unittest, actionlint, syft from the Go module
# proxy, cached outside the work tree) and the S3 server of the retention tests (versitygw, built with
# go install: about 10 minutes the first time on 2 cores, then a no-op).
set -euo pipefail
pip_locked requirements-dev.lock
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
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v mmdebstrap >/dev/null; then
  echo "==> apt-get install podman runc mmdebstrap"
  apt_install podman runc mmdebstrap
fi
bash scripts/tools.sh helm kubeconform promtool helm-unittest actionlint syft
export PATH="${GAMEMETRICS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gamemetrics/tools}/bin:$PATH"
echo "==> gamemetrics stack install --s3 (the S3 server of the retention and GDPR tests)"
gamemetrics stack install --s3

#!/usr/bin/env bash
# Build the GameMetrics container image with podman (Containerfile at the root).
#   bash scripts/image.sh [--sbom] [--tag NAME:TAG]
# 1. wheels: the project, its dependencies and the native Avro codec (maturin; needs cargo) into
#    build/wheelhouse, on the host (pip reaches the index here; the build itself needs no network);
# 2. the base image: $BASE_IMAGE when set (e.g. docker.io/library/python:3.11-slim-bookworm where a
#    registry is reachable), else localhost/gamemetrics-base:bookworm-2, made once with mmdebstrap
#    from the machine's own apt sources (see ../shared/CONTAINERS.md: no registry here);
# 3. podman build (docker format, so HEALTHCHECK is kept), tagged $IMAGE (default
#    localhost/gamemetrics:<version>) and localhost/gamemetrics:latest;
# 4. with --sbom: an SPDX JSON SBOM by syft (scripts/tools.sh) in build/sbom/.
# Prints the image size and how long each step took. Needs root podman with runc (installed by
# scripts/bootstrap.sh); CONTAINERS_CONF points at deploy/podman/containers.conf.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SBOM=0
VERSION="$(python3 -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')"
IMAGE="${IMAGE:-localhost/gamemetrics:$VERSION}"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --sbom) SBOM=1 ;;
    --tag) IMAGE="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}"
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)
command -v podman >/dev/null || { echo "error: podman not found (apt-get install podman runc mmdebstrap)" >&2; exit 1; }
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3 )}"
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi
t0=$(date +%s)

echo "==> wheels (build/wheelhouse)"
# The wheels are kept in a cache outside the work tree (every clone on the machine, CI's included,
# reuses them) and copied into the build context. The project's wheel is always rebuilt; the
# native codec's (a cargo build, minutes) only when its sources' hash changes.
CACHE="${GAMEMETRICS_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gamemetrics/wheelhouse}"
WHEELS=build/wheelhouse
mkdir -p "$WHEELS" "$CACHE"
cp -n "$CACHE"/*.whl "$WHEELS"/ 2>/dev/null || true
rm -f "$WHEELS"/gamemetrics-[0-9]*.whl "$WHEELS"/gamemetrics_avro-*.whl
# setuptools stages the project under build/lib and keeps files there across builds: a module
# renamed or emptied in the source would ship stale. The image's own import check caught that once.
rm -rf build/lib build/bdist.*
native_hash="$(cd native/gamemetrics_avro && find . -path ./target -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"
NATIVE_CACHE="$CACHE/native-$native_hash"
targets=(.)
if ls "$NATIVE_CACHE"/gamemetrics_avro-*.whl >/dev/null 2>&1; then
  cp "$NATIVE_CACHE"/gamemetrics_avro-*.whl "$WHEELS"/
else
  targets+=(./native/gamemetrics_avro)
fi
# Offline from the wheelhouse first; the package index only when a dependency (or the codec's
# build backend) is new. The wheelhouse keeps the project's build backend (setuptools, wheel) so the
# offline build can set up its isolated build environment.
# The dependencies at the exact versions of requirements.lock (the Containerfile installs from it too).
"$PYTHON" -m pip wheel -q --no-index --wheel-dir "$WHEELS" --find-links "$WHEELS" -r requirements.lock "${targets[@]}" 2>/dev/null \
  || "$PYTHON" -m pip wheel -q --wheel-dir "$WHEELS" --find-links "$WHEELS" -r requirements.lock "${targets[@]}" "setuptools>=68" wheel
mkdir -p "$NATIVE_CACHE"
cp -n "$WHEELS"/gamemetrics_avro-*.whl "$NATIVE_CACHE"/
for wheel in "$WHEELS"/*.whl; do
  case "$(basename "$wheel")" in gamemetrics-[0-9]*|gamemetrics_avro-*) ;; *) cp -n "$wheel" "$CACHE"/ ;; esac
done
t1=$(date +%s)

BASE_IMAGE="${BASE_IMAGE:-}"
if [ -z "$BASE_IMAGE" ]; then
  BASE_IMAGE=localhost/gamemetrics-base:bookworm-2
  if ! "${PODMAN[@]}" image exists "$BASE_IMAGE"; then
    echo "==> base image $BASE_IMAGE (mmdebstrap)"
    command -v mmdebstrap >/dev/null || { echo "error: mmdebstrap not found (apt-get install mmdebstrap)" >&2; exit 1; }
    tarball="$(mktemp --suffix=.tar)"
    # essential + python3: no apt, no docs, no man pages, no locales in the base.
    mmdebstrap --quiet --variant=essential --include=python3,python3-venv,ca-certificates,tzdata,libstdc++6,libgomp1 \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      bookworm "$tarball"
    "${PODMAN[@]}" import --quiet "$tarball" "$BASE_IMAGE" >/dev/null
    rm -f "$tarball"
  fi
fi
t2=$(date +%s)

echo "==> podman build $IMAGE (FROM $BASE_IMAGE)"
"${PODMAN[@]}" build --quiet --format docker --network host -f Containerfile \
  --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg VERSION="$VERSION" \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$IMAGE" -t localhost/gamemetrics:latest . >/dev/null
t3=$(date +%s)
size="$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")"
echo "image $IMAGE: $((size / 1000000)) MB; wheels $((t1 - t0)) s, base $((t2 - t1)) s, podman build $((t3 - t2)) s"

if [ "$SBOM" = 1 ]; then
  bash "$ROOT/scripts/tools.sh" syft  # pinned, from the Go module proxy; a no-op once installed
  SYFT="$(command -v syft || echo "${GAMEMETRICS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gamemetrics/tools}/bin/syft")"
  [ -x "$SYFT" ] || { echo "error: syft could not be installed (see above)" >&2; exit 1; }
  mkdir -p build/sbom
  archive="$(mktemp --suffix=.tar)"
  "${PODMAN[@]}" save --quiet --format docker-archive -o "$archive" "$IMAGE"
  SYFT_CHECK_FOR_APP_UPDATE=false "$SYFT" scan -q "docker-archive:$archive" -o "spdx-json=build/sbom/gamemetrics-$VERSION.spdx.json"
  rm -f "$archive"
  echo "sbom build/sbom/gamemetrics-$VERSION.spdx.json ($(( $(date +%s) - t3 )) s)"
fi

#!/usr/bin/env bash
# Install the deployment tool chain, pinned, from the Go module proxy with `go install`:
#   helm, helm-unittest (helm plugin binary), kubeconform, promtool, syft, grype, actionlint.
# Binaries go to $GAMEMETRICS_TOOLS_DIR/bin (default ~/.cache/gamemetrics/tools, outside the work
# tree so every clone on the machine, CI's included, shares them; scripts/test_deps.sh puts it on PATH). A tool already installed at its pinned version is skipped, so a
# second run takes well under a second. With tool names as arguments only those are installed. Each `go install` builds from source (minutes on two cores
# the first time); set GAMEMETRICS_SKIP_TOOLS=1 to skip all of it (the tests that need a tool then
# skip, saying which). Run standalone: `bash scripts/tools.sh [tool ...]`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${GAMEMETRICS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gamemetrics/tools}"
BIN="$TOOLS_DIR/bin"
mkdir -p "$BIN"

# name  module path (package to build)  version
PINS=(
  "helm          helm.sh/helm/v3/cmd/helm                                 v3.22.0"
  "kubeconform   github.com/yannh/kubeconform/cmd/kubeconform             v0.7.0"
  "promtool      github.com/prometheus/prometheus/cmd/promtool            v0.316.0"
  "helm-unittest github.com/helm-unittest/helm-unittest/cmd/helm-unittest v1.1.2"
  "actionlint    github.com/rhysd/actionlint/cmd/actionlint               v1.7.12"
  "syft          github.com/anchore/syft/cmd/syft                         v1.57.1"
  "grype         github.com/anchore/grype/cmd/grype                       v0.121.2"
)

if [ "${GAMEMETRICS_SKIP_TOOLS:-0}" = 1 ]; then
  echo "==> tools: skipped (GAMEMETRICS_SKIP_TOOLS=1)"; return 0 2>/dev/null || exit 0
fi
if ! command -v go >/dev/null; then
  if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; else
    echo "warning: go not found: deployment tools not installed (their tests skip)" >&2
    return 0 2>/dev/null || exit 0
  fi
fi

want=("$@")
install_one() {
  local name="$1" pkg="$2" version="$3" stamp="$BIN/.$1.version"
  if [ -x "$BIN/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    return 0
  fi
  local module="${pkg%%/cmd/*}" ok=0
  if [ "$name" = helm-unittest ]; then
    # Its go.mod has replace directives, which `go install pkg@version` refuses: download the
    # module from the proxy and build it as the main module, in a writable copy.
    echo "==> go build $pkg@$version (module with replace directives)"
    local dir work
    dir="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    work="$(mktemp -d)"
    if [ -n "$dir" ] && cp -r "$dir/." "$work/" && chmod -R u+w "$work" \
       && (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/$name" "./${pkg#"$module"/}"); then
      ok=1
    fi
    rm -rf "$work"
  else
    echo "==> go install $pkg@$version"
    # GOBIN puts the binary straight into $BIN; the module cache stays the user's (shared, reused).
    if GOBIN="$BIN" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "$pkg@$version"; then ok=1; fi
  fi
  if [ "$ok" = 1 ]; then
    echo "$version" > "$stamp"
  else
    echo "warning: installing $name $version failed: its tests skip" >&2
  fi
}
for line in "${PINS[@]}"; do
  # shellcheck disable=SC2086
  set -- $line
  if [ "${#want[@]}" -gt 0 ] && [[ ! " ${want[*]} " == *" $1 "* ]]; then continue; fi
  install_one "$1" "$2" "$3"
done

# helm-unittest as a helm plugin: the plugin directory holds plugin.yaml and the binary we built.
if [ -x "$BIN/helm-unittest" ]; then
  PLUGIN_DIR="$TOOLS_DIR/helm-plugins/helm-unittest"
  mkdir -p "$PLUGIN_DIR/untt"
  ln -sf "$BIN/helm-unittest" "$PLUGIN_DIR/untt/untt"
  cat > "$PLUGIN_DIR/plugin.yaml" <<'YAML'
name: "unittest"
version: "pinned"
usage: "unittest for helm charts"
description: "Unit test for helm chart in YAML (built from the Go module proxy by scripts/tools.sh)"
ignoreFlags: false
command: "$HELM_PLUGIN_DIR/untt/untt"
YAML
fi

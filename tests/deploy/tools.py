"""Find the deployment tool chain (scripts/tools.sh installs it, pinned, into ~/.cache/gamemetrics/tools/bin)."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "gamemetrics"
TOOLS_BIN = Path(os.environ.get("GAMEMETRICS_TOOLS_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gamemetrics" / "tools") / "bin"
KUBERNETES_VERSION = "1.31.0"  # the oldest Kubernetes the chart is checked against (Chart.yaml says >= 1.27)
RELEASE, NAMESPACE = "gm", "gamemetrics"


def tool(name: str) -> str:
    """The path of ``name`` (PATH first, then .tools/bin), or skip the test saying how to get it."""
    found = shutil.which(name) or (str(TOOLS_BIN / name) if (TOOLS_BIN / name).is_file() else None)
    if not found:
        pytest.skip(f"{name} is not installed: run `bash scripts/tools.sh {name}` (go install, pinned)")
    return found


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a tool; the test fails with its output when it exits non-zero."""
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


@cache
def helm_template(values: Path | None = None, *sets: str, show_only: str = "") -> str:
    """``helm template`` of the chart as release gm in namespace gamemetrics (cached: the chart does not change during a run)."""
    args = [tool("helm"), "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBERNETES_VERSION]
    if values:
        args += ["-f", str(values)]
    for s in sets:
        args += ["--set", s]
    if show_only:
        args += ["--show-only", show_only]
    return run(*args).stdout


def scenarios() -> list[Path]:
    return sorted((CHART / "ci").glob("*-values.yaml"))

"""The documentation site builds with `mkdocs build --strict`: a broken link, an unknown anchor, a page
missing from the navigation or a missing image fails it (mkdocs.yml `validation`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def mkdocs(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


def test_the_site_builds_strictly(tmp_path) -> None:
    built = mkdocs("build", "--strict", "--site-dir", str(tmp_path / "site"))
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "operations" / "configuration" / "index.html").exists()
    assert (tmp_path / "site" / "assets" / "dashboard.png").exists()


def test_a_broken_link_fails_the_build(tmp_path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "docs", copy / "docs")
    shutil.copy(REPO / "mkdocs.yml", copy / "mkdocs.yml")
    page = copy / "docs" / "getting-started.md"
    page.write_text(page.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    built = mkdocs("build", "--strict", "--site-dir", str(tmp_path / "site"), cwd=copy)
    assert built.returncode != 0 and "no-such-page.md" in built.stderr

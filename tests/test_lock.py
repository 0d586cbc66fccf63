"""The lock files (requirements.lock, requirements-dev.lock; scripts/lock.sh) pin every dependency of
pyproject.toml to one exact version inside its range, so two installs on different days get the same
packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def pins(lock: str) -> dict[str, str]:
    found = {}
    for line in (REPO / lock).read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\],]+)==([^\s;]+)(\s*;.*)?", line)
        assert match, f"{lock}: {line!r} is not an exact pin (name==version)"
        found[canonicalize_name(match.group(1).split("[")[0])] = match.group(2)
    return found


@pytest.mark.parametrize(("lock", "groups"), [
    ("requirements.lock", ["dependencies"]),
    ("requirements-dev.lock", ["dependencies", "dev"]),
])
def test_every_dependency_is_pinned_inside_its_range(lock: str, groups: list[str]) -> None:
    locked = pins(lock)
    wanted = [Requirement(r) for g in groups
              for r in (PROJECT["dependencies"] if g == "dependencies" else PROJECT["optional-dependencies"][g])]
    problems = []
    for req in wanted:
        version = locked.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name} is not in {lock}")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} is outside {req.specifier}")
    assert not problems, "; ".join(problems) + ": run `bash scripts/lock.sh` and commit the lock files"


def test_the_runtime_lock_has_no_dev_tool() -> None:
    assert "pytest" not in pins("requirements.lock") and "pytest" in pins("requirements-dev.lock")

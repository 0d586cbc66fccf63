"""Module docstrings name only files that exist: a reader who follows ``see tests/x.py`` or
``docs/y.md`` from a docstring must find it (issue 27: three docstrings named files long gone)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gamemetrics", "ingest", "processors", "recommender", "graphql_api", "retention", "store", "streams",
            "schemas", "operations", "bench")
# a repository path: at least one folder, ending in a file name with an extension
PATH = re.compile(r"(?<![\w./-])((?:\.\./)?[A-Za-z_][\w.-]*/[\w./-]*\.(?:py|md|sh|ya?ml|sql|json|toml|rs|js|html))\b")


def named_paths() -> list[tuple[str, str]]:
    found = []
    for package in PACKAGES:
        for module in sorted((ROOT / package).rglob("*.py")):
            doc = ast.get_docstring(ast.parse(module.read_text(encoding="utf-8"))) or ""
            for path in set(PATH.findall(doc)):
                if not path.startswith(("../", "shared/")):  # the machine's shared builds, outside the repository
                    found.append((str(module.relative_to(ROOT)), path))
    return found


def test_the_scan_finds_the_paths_docstrings_name():
    assert ("processors/ports.py", "tests/processors/backends.py") in named_paths()


@pytest.mark.parametrize(("module", "path"), named_paths())
def test_a_path_named_in_a_module_docstring_exists(module: str, path: str):
    here = ROOT / module
    assert (ROOT / path).exists() or (here.parent / path).exists(), f"{module} names {path}, which does not exist"

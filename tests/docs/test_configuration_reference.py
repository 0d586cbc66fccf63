"""The configuration reference (docs/operations/configuration.md) is generated from the settings classes."""

from __future__ import annotations

import re
from pathlib import Path

from operations import settings_doc

REPO = Path(__file__).resolve().parents[2]
CODE_DIRS = ("gamemetrics", "ingest", "streams", "processors", "store", "schemas", "graphql_api",
             "recommender", "retention", "operations")


def test_reference_is_current() -> None:
    assert settings_doc.PAGE.read_text() == settings_doc.render(), (
        "docs/operations/configuration.md is stale: run `python -m operations.settings_doc --write` and commit it"
    )


def test_every_settings_class_is_in_the_reference() -> None:
    listed = {(module, name) for module, name, _ in settings_doc.SETTINGS}
    found = set()
    for top in CODE_DIRS:
        for path in (REPO / top).rglob("*.py"):
            for name in re.findall(r"^class (\w+)\((?:BaseSettings|\w*Settings)\)", path.read_text(), re.M):
                module = ".".join(path.relative_to(REPO).with_suffix("").parts)
                found.add((module, name))
    missing = sorted(found - listed)
    assert not missing, (
        f"settings classes missing from the configuration reference: {missing}; add each as (module, class,"
        " heading) to SETTINGS in operations/settings_doc.py and run `python -m operations.settings_doc --write`"
    )


def test_every_variable_is_on_the_page() -> None:
    page = settings_doc.PAGE.read_text()
    variables = settings_doc.every_variable()
    assert len(variables) > 100
    assert [v for v in variables if f"`{v}`" not in page] == []
    assert "`GAMEMETRICS_INGEST_MAX_BODY_BYTES` | int | `1048576` |".replace("1048576", "1_048_576") in page

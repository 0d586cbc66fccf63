"""Every query of the GraphQL cookbook (docs/analysts/graphql-cookbook.md) is valid against the API's SDL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

REPO = Path(__file__).resolve().parents[2]
COOKBOOK = REPO / "docs" / "analysts" / "graphql-cookbook.md"
BLOCK = re.compile(r"```graphql\n(.*?)```", re.S)


def cookbook_queries() -> list[str]:
    return BLOCK.findall(COOKBOOK.read_text())


def sdl_schema():
    # The exported SDL names Strawberry's @oneOf/@cost directives; declare what graphql-core lacks.
    sdl = (REPO / "graphql_api" / "schema.graphql").read_text()
    if "directive @cost" not in sdl:
        sdl += "\ndirective @cost(weight: Int!) on FIELD_DEFINITION\n"
    return build_schema(sdl)


def test_the_cookbook_has_queries() -> None:
    assert len(cookbook_queries()) >= 10


@pytest.mark.parametrize("query", cookbook_queries(), ids=lambda q: re.search(r"(?:query|subscription) (\w+)", q).group(1))
def test_query_is_valid_against_the_sdl(query: str) -> None:
    errors = validate(sdl_schema(), parse(query))
    assert not errors, "\n".join(str(e) for e in errors)


def test_an_invalid_query_is_caught() -> None:
    errors = validate(sdl_schema(), parse("query { games { gameId noSuchField } }"))
    assert errors and "noSuchField" in str(errors[0])

"""API key resolution (``ingest/auth.py``) against the real PostgreSQL: caches stay bounded."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from ingest.auth import ApiKeyResolver
from tests.ingest.test_api import new_key

pytestmark = pytest.mark.integration


def test_unknown_keys_are_remembered_in_a_bounded_cache_and_real_keys_still_resolve(isolated):
    game_id, key = new_key(isolated)

    async def scenario() -> tuple[list[str | None], int, str | None]:
        resolver = ApiKeyResolver(isolated, negative_max=50)
        try:
            found = [await resolver.game_for("gm_" + secrets.token_hex(16)) for _ in range(400)]
            return found, resolver.unknown_cached, await resolver.game_for(key)
        finally:
            await resolver.close()

    found, remembered, real = asyncio.run(scenario())
    assert found == [None] * 400
    assert remembered == 50
    assert real == game_id

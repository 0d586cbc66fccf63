"""A Qdrant server started with an API key (QDRANT__SERVICE__API_KEY, as the chart's secret sets it):
the recommender reaches it with GAMEMETRICS_QDRANT_API_KEY, over REST and gRPC, and is refused
without it, with the error translated."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from recommender.errors import VectorStoreError
from recommender.vectors import VectorStore
from tests.recommender.helpers import REC, train_simulated
from tests.services import free_port

pytestmark = pytest.mark.integration

KEY = "test-qdrant-api-key-0123456789"


@pytest.fixture(scope="module")
def secured_qdrant(tmp_path_factory) -> Iterator[tuple[str, int]]:
    from operations.stack.qdrant import LocalQdrant, find_bundle

    bundle = find_bundle()
    if bundle is None:
        pytest.skip("no Qdrant server bundle (../shared/qdrant) beside the checkout")
    server = LocalQdrant(bundle, tmp_path_factory.mktemp("qdrant-secured"), free_port(), free_port(),
                         config={"QDRANT__SERVICE__API_KEY": KEY})
    url = server.start()
    try:
        yield url, server.grpc_port
    finally:
        server.stop()


@pytest.mark.parametrize("grpc", [False, True], ids=["rest", "grpc"])
def test_the_api_key_opens_a_secured_server_and_nothing_opens_it_without(isolated, secured_qdrant, grpc):
    url, grpc_port = secured_qdrant
    rec = REC.model_copy(update={"qdrant_prefer_grpc": grpc, "qdrant_grpc_port": grpc_port})
    keyed = isolated.model_copy(update={"qdrant_url": url, "qdrant_api_key": SecretStr(KEY)})
    bare = isolated.model_copy(update={"qdrant_url": url})

    async def scenario():
        store = VectorStore.open(keyed, rec)
        try:
            trained = await train_simulated(store, "g1", rec=rec)
            assert await store.live_model_id("g1") == trained.model_id
        finally:
            await store.close()
        refused = VectorStore.open(bare, rec)
        try:
            with pytest.raises(VectorStoreError, match="Qdrant: .* failed"):
                await refused.live_model_id("g1")
        finally:
            await refused.close()

    asyncio.run(scenario())

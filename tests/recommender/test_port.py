"""The vector-store port: training, export and forget through the admin API of the service that owns
the store (ServiceStore, recommender/port.py) do what they do directly, are refused without an admin
token, and leave audit rows. The service runs in this process (httpx over ASGI) on a real Qdrant (local
mode and a server), Redis and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from recommender.port import ServiceStore, open_store
from recommender.vectors import VectorStore
from store import db
from tests.recommender.helpers import REC, TOKENS, token, train_simulated
from tests.recommender.test_service import Scenario

pytestmark = pytest.mark.integration


def audit_actions(settings) -> list[tuple[str, str]]:
    with db.connect(settings) as conn:
        return [(a, actor) for a, actor in conn.execute(
            "SELECT action, actor FROM audit_log WHERE action LIKE 'recommender.%' ORDER BY seq")]


def test_training_export_and_forget_through_the_owning_service(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            rec = REC.model_copy(update={"service_url": "http://recommender", "admin_upsert_batch": 100})
            remote = ServiceStore.connect(rec_settings, rec, TOKENS, transport=httpx.ASGITransport(app=s.api.app))
            try:
                trained = await train_simulated(remote, "g1", rec=REC)  # every write is an admin request
                assert await remote.live_model_id("g1") == trained.model_id
                assert [m["model_id"] for m in await remote.list_models("g1")] == [trained.model_id]
                player = trained.matrix.player_ids[0]
                answer = (await s.api.recommend("g1", player)).json()
                assert answer["strategy"] == "personal" and answer["model_version"] == trained.model_id
                exported = await remote.player_payloads("g1", player)
                assert [row["player_id"] for row in exported] == [player]
                assert exported[0]["history_items"] and exported[0]["owned"] == sorted(trained.matrix.owned_by(player))
                assert await remote.forget("g1", player) == {"qdrant_points": 1, "redis_keys": 1, "interaction_rows": 0}
                assert await s.store.count_player("g1", player) == 0
                assert (await s.api.recommend("g1", player)).json()["strategy"] == "popular"
            finally:
                await remote.close()
            actions = audit_actions(rec_settings)
            assert [a for a, _ in actions] == ["recommender.model_create", "recommender.model_live",
                                               "recommender.export", "recommender.forget"]
            assert {actor for _, actor in actions} == {"token:recommender-cli"}

    asyncio.run(scenario())


def test_the_admin_api_refuses_anything_but_an_admin_token(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            await train_simulated(s.store, "g1")
            client = s.api.client
            for method, path in (("GET", "/v1/admin/games/g1/models"), ("GET", "/v1/admin/games/g1/players/p1"),
                                 ("POST", "/v1/admin/games/g1/models/m1/live"),
                                 ("POST", f"/v1/admin/collections/{s.store.names.alias('g1', 'players')}__m1/points")):
                assert (await client.request(method, path)).status_code == 401
                analyst = await client.request(method, path, headers=token(["*"]))
                assert analyst.status_code == 403 and "admin" in analyst.json()["detail"]
            other_game = await client.get("/v1/admin/games/g1/players/p1", headers=token(["g2"], role="admin"))
            assert other_game.status_code == 403
            outside = await client.post("/v1/admin/collections/someone_else__g1__players__m1/points",
                                        headers=token(["*"], role="admin"), content=b"{}")
            assert outside.status_code == 400 and "namespace" in outside.json()["detail"]
            admin = token(["*"], role="admin")
            not_json = await client.post(f"/v1/admin/collections/{s.store.names.alias('g1', 'players')}__m1/points",
                                         headers=admin, content=b"{nope")
            assert not_json.status_code == 400 and "not JSON" in not_json.json()["detail"]
            no_factors = await client.post("/v1/admin/games/g1/models/m2/collections", headers=admin, json={})
            assert no_factors.status_code == 400 and "factors" in no_factors.json()["detail"]
            assert audit_actions(rec_settings) == []

    asyncio.run(scenario())


def test_open_store_goes_direct_to_a_server_and_to_a_free_embedded_store(rec_settings, qdrant_mode):
    rec = REC.model_copy(update={"service_url": "http://127.0.0.1:9"})  # nothing listens there

    async def scenario():
        store = open_store(rec_settings, rec, TOKENS)
        try:
            assert isinstance(store, VectorStore) and store.embedded == (qdrant_mode == "embedded")
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_second_opener_of_the_embedded_store_is_told_who_owns_it(rec_settings, qdrant_mode):
    if qdrant_mode == "server":
        pytest.skip("a server has no owner process")
    from recommender.errors import LocalStorageBusy

    async def scenario():
        owner = VectorStore.open(rec_settings, REC)
        try:
            with pytest.raises(LocalStorageBusy, match="GAMEMETRICS_RECOMMENDER_SERVICE_URL"):
                VectorStore.open(rec_settings, REC)
        finally:
            await owner.close()
        again = VectorStore.open(rec_settings, REC)  # free again once the owner closed it
        await again.close()

    asyncio.run(scenario())

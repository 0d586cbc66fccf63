"""Fresh within seconds: a purchase posted to ingest lands (landing worker), reaches the fold-in
consumer through player.events.processed, changes that player's vector and recommendations, and
a Recommendations record is published to recommendations.generated. Every service is a real
process on real Kafka, PostgreSQL and Redis; with a Qdrant server the fold-in is
``gamemetrics recommender worker`` (Faust, its own group), in local mode it is the consumer inside
``gamemetrics serve recommender`` (one process owns a local-mode folder)."""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import ExitStack

import httpx
import pytest
from confluent_kafka import Consumer

from gamemetrics.envvars import settings_env
from recommender.cache import AnswerCache
from recommender.vectors import VectorStore
from schemas.catalog import load_catalog
from schemas.ids import CatalogIds
from schemas.wire import AvroDeserializer
from streams.topics import RECOMMENDATIONS
from tests.ingest.test_api import an_event, new_key, post
from tests.recommender.helpers import REC, TOKENS, token, train_simulated
from tests.services import _spawn, _stop, running_ingest, running_service, running_worker, wait_for

pytestmark = pytest.mark.integration

KNOBS = {"GAMEMETRICS_GRAPHQL_JWT_SECRET": TOKENS.jwt_secret.get_secret_value(),
         "GAMEMETRICS_RECOMMENDER_FACTORS": str(REC.factors), "GAMEMETRICS_RECOMMENDER_MODEL_REFRESH_S": "0.5",
         "GAMEMETRICS_RECOMMENDER_WORKER_METRICS_PORT": "0", "GAMEMETRICS_RECOMMENDER_WORKER_TAKE_WITHIN_S": "0.1"}


def _recommendations_of(settings, player_id: str, timeout_s: float) -> list[dict]:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": f"check-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([settings.topic(RECOMMENDATIONS.name)])
    decoder = AvroDeserializer(CatalogIds(), load_catalog().latest(RECOMMENDATIONS.value_schema))
    found: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not found:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        record = decoder.decode(message.value())
        if record["player_id"] == player_id:
            found.append(record)
    consumer.close()
    return found


def test_a_purchase_changes_the_players_recommendations_within_seconds(rec_settings, qdrant_mode, tmp_path):
    game_id, api_key = new_key(rec_settings)

    async def train():
        store = VectorStore.open(rec_settings, REC)
        try:
            return await train_simulated(store, game_id)
        finally:
            await store.close()

    trained = asyncio.run(train())  # in local mode this closes the folder before the service takes it
    player = trained.matrix.player_ids[0]
    with ExitStack() as stack:
        env = dict(KNOBS)
        ingest = stack.enter_context(running_ingest(rec_settings, tmp_path))
        stack.enter_context(running_worker(rec_settings, tmp_path))
        api = stack.enter_context(running_service(["serve", "recommender"], rec_settings, tmp_path / "recommender.log",
                                                  lambda r: r.status_code == 200, "/readyz", env))
        if qdrant_mode == "server":
            fold = _spawn(["recommender", "worker"], rec_settings, tmp_path / "recommender-worker.log", env)
            stack.callback(_stop, fold)
            log = tmp_path / "recommender-worker.log"
            wait_for(lambda: log.exists() and "Worker ready" in log.read_text(), timeout_s=90,
                     what="the recommender worker to join its group")
        headers = token([game_id])

        def recommended() -> list[str]:
            r = httpx.get(f"{api}/v1/recommendations/{player}", params={"game_id": game_id, "k": 10},
                          headers=headers, timeout=10)
            assert r.status_code == 200, r.text
            return [i["item_id"] for i in r.json()["items"]]

        before = recommended()
        assert recommended() == before  # served from the cache now
        bought = before[:3]
        purchases = [an_event(event_type="purchase", player_id=player, platform="ios", country="DE",
                              properties={"item_id": item, "amount": 1.99, "currency": "USD"}) for item in bought]
        posted = time.monotonic()
        assert post(ingest, api_key, {"events": purchases}).json()["accepted"] == 3
        after = wait_for(lambda: (lambda now: now if now != before else None)(recommended()), timeout_s=60,
                         what="the player's recommendations to change after the purchase")
        seconds = time.monotonic() - posted
        assert not set(bought) & set(after), "bought items are owned now and never recommended back"
        records = _recommendations_of(rec_settings, player, timeout_s=20)
        assert records and records[-1]["game_id"] == game_id and records[-1]["model_version"] == trained.model_id
        assert not set(bought) & {i["item_id"] for i in records[-1]["items"]}
        print(f"purchase -> new recommendations in {seconds:.2f} s ({qdrant_mode})")
        assert seconds < 30


def test_redis_stopped_recommendations_are_still_served(rec_settings, tmp_path):
    from operations.stack.redis import LocalRedis
    from tests.recommender.helpers import Api
    from tests.services import free_port

    redis_server = LocalRedis(tmp_path / "redis", port=free_port())
    redis_server.start()
    redis_server.wait_ready(redis_server.url)
    settings = rec_settings.model_copy(update={"redis_url": redis_server.url})

    async def scenario():
        store = VectorStore.open(settings, REC)
        cache = AnswerCache.connect(settings.redis_url, store.names.namespace, REC)
        api = Api(settings, store, cache)
        try:
            trained = await train_simulated(store, "g1")
            player = trained.matrix.player_ids[0]
            await api.recommend("g1", player)
            hit = await api.recommend("g1", player)
            assert hit.headers["X-Cache"] == "hit"
            redis_server.stop()
            started = time.perf_counter()
            down = [await api.recommend("g1", p) for p in (player, trained.matrix.player_ids[1], "cold-one")]
            assert [r.status_code for r in down] == [200, 200, 200]
            assert [r.headers["X-Cache"] for r in down] == ["bypass"] * 3
            assert down[0].json()["items"] == hit.json()["items"]
            assert down[2].json()["strategy"] == "popular"
            similar = await api.similar("g1", player)
            assert similar.status_code == 200 and similar.json()["players"]
            assert time.perf_counter() - started < 5, "a dead Redis costs one timeout per retry period, not per request"
        finally:
            await api.close()
            await cache.close()
            await store.close()

    try:
        asyncio.run(scenario())
    finally:
        redis_server.stop()

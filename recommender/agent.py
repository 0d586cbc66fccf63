"""The fold-in worker (``gamemetrics recommender worker``): a Faust app of its own, in its own
consumer group (``gamemetrics-recommender``) and process, so landing never waits for it.

    player.events.processed --take up to worker_take_max (or worker_take_within_s)--> (1) decode
        --> (2) FoldIn.apply: history + new play -> vectors upserted, cache entries dropped
        --> (3) Recommendations published to recommendations.generated (acks awaited) --> (4) ack

Each message holds an extra reference until (3) succeeded (as the landing agent does), so a batch
whose vectors were not written is not committed; Qdrant or Kafka trouble retries the same batch
with backoff. A new group starts at the beginning of the topic; batches processed before the live
model was trained are skipped undecoded by player (the model has them).
"""

from __future__ import annotations

import asyncio

import faust
import structlog

from gamemetrics.retry import UNTIL_BACK
from gamemetrics.settings import Settings
from recommender.cache import AnswerCache
from recommender.consumer import GROUP_ID
from recommender.foldin import FoldIn
from store.tombstones import TombstoneCheck
from recommender.publish import RecommendationsSink
from recommender.settings import RecommenderSettings
from recommender.vectors import VectorStore
from schemas.catalog import load_catalog
from schemas.errors import WireFormatError
from schemas.ids import schema_ids
from schemas.wire import AvroDeserializer
from streams.app import create_app, topic
from streams.producer import EventProducer
from streams.topics import PROCESSED_EVENTS

log = structlog.get_logger("recommender.agent")


def build_worker_app(settings: Settings, rec: RecommenderSettings) -> faust.App:
    app = create_app(settings, app_id=GROUP_ID, auto_offset_reset="earliest")
    processed = topic(app, settings, PROCESSED_EVENTS)
    decoder = AvroDeserializer(schema_ids(settings.schema_registry_url),
                               load_catalog().latest(PROCESSED_EVENTS.value_schema), logical=False)

    @app.agent(processed, name="recommender-fold-in")
    async def fold_in(stream: faust.StreamT) -> None:
        store = VectorStore.open(settings, rec)
        cache = AnswerCache.connect(settings.redis_url, store.names.namespace, rec)
        producer = EventProducer(settings.kafka_bootstrap_servers, security=settings.kafka_security())
        sink = RecommendationsSink(settings, producer)
        fold = FoldIn(store, cache, rec, TombstoneCheck(settings))
        log.info("recommender_worker_started", topic=processed.get_topic_name(), qdrant=settings.qdrant_url or "local")
        try:
            async for events in stream.take_events(rec.worker_take_max, rec.worker_take_within_s):
                for event in events:
                    event.message.incref()
                # (1) decode; the landing worker wrote these with our codec: a bad one is logged, skipped
                batches = []
                for event in events:
                    try:
                        batches.append(decoder.decode(event.message.value))
                    except WireFormatError as exc:
                        log.error("undecodable_processed_batch", partition=event.message.partition,
                                  offset=event.message.offset, error=str(exc))
                # (2) fold in and (3) publish, retried until both succeed
                for attempt in range(1, UNTIL_BACK.max_attempts + 1):
                    try:
                        await sink.send(await fold.apply(batches))
                        break
                    except Exception as exc:  # noqa: BLE001 - Qdrant, Redis or Kafka trouble: retry the batch
                        delay = UNTIL_BACK.delay_after(attempt)
                        log.warning("fold_in_retry", attempt=attempt, retry_in_s=delay, error=f"{type(exc).__name__}: {exc}")
                        await asyncio.sleep(delay)
                for event in events:  # (4) release: the offsets may be committed now
                    event.ack()
        finally:
            producer.close()
            await cache.close()
            await store.close()

    return app

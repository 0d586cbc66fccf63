"""The fold-in loop over player.events.processed, without Faust, for one process that owns Qdrant
local mode (``gamemetrics serve recommender`` in local mode runs it beside the API):

    poll up to worker_take_max messages (or worker_take_within_s) -> decode -> FoldIn.apply
      -> publish Recommendations (acked) -> commit the offsets

Same consumer group as ``gamemetrics recommender worker`` (the Faust agent), and the same steps;
a crash before the commit replays the messages, which FoldIn recognises by batch id.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaConsumer

from gamemetrics.settings import Settings
from recommender.cache import AnswerCache
from recommender.foldin import FoldIn
from store.tombstones import TombstoneCheck
from recommender.publish import RecommendationsSink
from recommender.settings import RecommenderSettings
from recommender.vectors import VectorStore
from schemas.catalog import load_catalog
from schemas.errors import WireFormatError
from schemas.ids import schema_ids
from schemas.wire import AvroDeserializer
from streams.app import aiokafka_security
from streams.producer import EventProducer
from streams.topics import PROCESSED_EVENTS

log = structlog.get_logger("recommender.consumer")

GROUP_ID = "gamemetrics-recommender"


def group_id(settings: Settings) -> str:
    return settings.topic_prefix + GROUP_ID


class FoldInConsumer:
    def __init__(self, settings: Settings, rec: RecommenderSettings, store: VectorStore, cache: AnswerCache) -> None:
        self._settings = settings
        self._rec = rec
        self._fold = FoldIn(store, cache, rec, TombstoneCheck(settings))
        self._decoder = AvroDeserializer(schema_ids(settings.schema_registry_url),
                                         load_catalog().latest(PROCESSED_EVENTS.value_schema), logical=False)
        self._task: asyncio.Task[None] | None = None
        self._producer: EventProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self.started = asyncio.Event()

    async def start(self) -> None:
        self._producer = EventProducer(self._settings.kafka_bootstrap_servers, security=self._settings.kafka_security())
        self._consumer = AIOKafkaConsumer(
            self._settings.topic(PROCESSED_EVENTS.name), bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=group_id(self._settings), enable_auto_commit=False, auto_offset_reset="earliest",
            **aiokafka_security(self._settings),
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="recommender-fold-in")

    async def _run(self) -> None:
        sink = RecommendationsSink(self._settings, self._producer)  # type: ignore[arg-type]
        consumer = self._consumer
        while True:
            try:
                if not consumer.assignment():
                    await asyncio.sleep(0.05)
                # (1) poll
                polled = await consumer.getmany(timeout_ms=int(self._rec.worker_take_within_s * 1000),
                                                max_records=self._rec.worker_take_max)
                if consumer.assignment():
                    self.started.set()
                batches = []
                for messages in polled.values():
                    for message in messages:
                        # (2) decode; our own landing worker wrote it, a bad one is logged and skipped
                        try:
                            batches.append(self._decoder.decode(message.value))
                        except WireFormatError as exc:
                            log.error("undecodable_processed_batch", topic=message.topic,
                                      partition=message.partition, offset=message.offset, error=str(exc))
                if batches:
                    # (3) fold in, (4) publish, awaiting acks
                    await sink.send(await self._fold.apply(batches))
                if polled:
                    # (5) commit only after the vectors are written and the records acknowledged
                    await consumer.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Qdrant/Kafka trouble: wait and replay from the last commit
                log.warning("fold_in_retry", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)
                for tp in consumer.assignment():
                    committed = await consumer.committed(tp)
                    if committed is not None:
                        consumer.seek(tp, committed)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            self._producer.close()

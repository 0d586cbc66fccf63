"""The landing pipeline, built in one visible place.

    player.events.raw --(1) decode--(2) rows--(3) land (COPY, one transaction)--(4) ack
                            \\-- undecodable --> system.dlq (typed DeadLetter, original bytes)

(4): Faust acknowledges an event when the agent asks for the next one, i.e. after step 3
committed; it commits acknowledged offsets every ``ConsumerPolicy.commit_interval_s``. A crash
before that replays the batch, and step 3 is idempotent on event id, so a replay adds no rows.
"""

from __future__ import annotations

import time

import faust
import structlog

from gamemetrics import metric_defs as m
from gamemetrics.settings import Settings
from gamemetrics.store import db
from gamemetrics.store.partitions import ensure_partitions
from processors.dead_letters import UNDECODABLE, dead_letter
from processors.decode import BatchDecoder
from processors.land import PostgresSink
from processors.rows import batch_rows
from schemas.catalog import load_catalog
from schemas.errors import WireFormatError
from schemas.ids import schema_ids
from schemas.wire import AvroSerializer
from streams.app import create_app, topic
from streams.topics import DLQ, RAW_EVENTS

log = structlog.get_logger("processors.pipeline")

PROCESSOR_NAME = "landing"
PARTITION_CHECK_INTERVAL_S = 3600.0


def build_landing_app(settings: Settings) -> faust.App:
    app = create_app(settings)
    ids = schema_ids(settings.schema_registry_url)
    raw_topic = topic(app, settings, RAW_EVENTS)
    dlq_topic = topic(app, settings, DLQ)
    decoder = BatchDecoder(ids)
    dlq_serializer = AvroSerializer(ids, settings.topic(DLQ.name), load_catalog().latest(DLQ.value_schema))
    sink = PostgresSink(settings)

    async def to_dlq(event: faust.EventT, error_type: str, detail: str) -> None:
        message = event.message
        record = dead_letter(
            error_type, detail, topic=message.topic, partition=message.partition, offset=message.offset,
            key=message.key, original=message.value, processor=PROCESSOR_NAME,
        )
        await dlq_topic.send(key=message.key, value=dlq_serializer.encode(record))
        m.DLQ_RECORDS.labels(error_type).inc()
        log.error("dead_letter", error_type=error_type, detail=detail, topic=message.topic,
                  partition=message.partition, offset=message.offset)

    @app.agent(raw_topic, name="land")
    async def land(stream: faust.StreamT) -> None:
        async for event in stream.events():
            # (1) decode
            try:
                batch = decoder.decode(event.message.value)
            except WireFormatError as exc:
                await to_dlq(event, UNDECODABLE, str(exc))
                continue
            # (2) rows
            rows = batch_rows(batch)
            # (3) land: committed to PostgreSQL before the loop moves on and Faust acks (4)
            started = time.perf_counter()
            result = await sink.write(rows)
            m.LAND_SECONDS.observe(time.perf_counter() - started)
            m.LANDED_EVENTS.inc(result.written)
            m.DUPLICATE_EVENTS.inc(result.duplicates)
            log.debug("landed", batch_id=str(batch["batch_id"]), game_id=batch["game_id"],
                      written=result.written, duplicates=result.duplicates)

    @app.timer(PARTITION_CHECK_INTERVAL_S, on_leader=False)
    async def prepare_partitions() -> None:
        with db.connect(settings, autocommit=True) as conn:
            created = ensure_partitions(conn)
        if created:
            log.info("partitions_created", partitions=created)

    return app

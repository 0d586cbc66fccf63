"""The API process's services, without HTTP: opened once when the process starts, closed when it
stops, and its readiness.

    serving(settings, gql)    the read-only PostgreSQL pool -> the live hub and its Kafka consumer
                              (when live is on) -> the token revocations kept fresh -> the GDPR backlog
                              gauges refreshed (when on); closed in the reverse order
    readiness(services)       PostgreSQL answers (gates); whether the live feed has caught up (reported)

The app's lifespan (``graphql_api.app``) holds ``serving`` open; each request's ``Context`` reads the services.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from gamemetrics.readiness import Readiness, probe
from gamemetrics.settings import Settings
from graphql_api.context import Services
from graphql_api.database import Database
from graphql_api.gdpr_backlog import refresh_forever
from graphql_api.lag_probe import LagProbe
from graphql_api.live import LiveHub
from graphql_api.live_source import KafkaLiveSource
from graphql_api.settings import GraphQLSettings
from retention.settings import JobSettings
from store.tokens import keep_revocations_fresh

log = structlog.get_logger("graphql_api")


@asynccontextmanager
async def serving(settings: Settings, gql: GraphQLSettings) -> AsyncIterator[Services]:
    """The services of one API process, open while the context is."""
    hub = LiveHub(gql.live_subscriber_buffer)
    services = Services(
        settings=settings, gql=gql, db=Database(settings, gql.db_pool_size, gql.query_timeout_s), hub=hub,
        lag=LagProbe(settings, gql.kafka_timeout_s, gql.lag_cache_s),
        gdpr_job=JobSettings.load() if gql.gdpr_run_now else None,
    )
    source = KafkaLiveSource(settings, gql, hub) if gql.live_enabled else None
    if source is not None:
        await source.start()
    revocations = asyncio.create_task(keep_revocations_fresh(settings, services.revoked, gql.revocation_refresh_s))
    backlog = (asyncio.create_task(refresh_forever(services.db, gql.gdpr_metrics_refresh_s), name="gdpr-backlog")
               if gql.gdpr_metrics_refresh_s > 0 else None)
    log.info("graphql_api_started", schema=settings.database_schema, topic_prefix=settings.topic_prefix,
             live=gql.live_enabled, introspection=gql.introspection)
    try:
        yield services
    finally:
        revocations.cancel()
        if backlog is not None:
            backlog.cancel()
        if source is not None:
            await source.stop()
        await services.db.close()


async def readiness(services: Services) -> Readiness:
    """Ready when PostgreSQL answers (within the pool's own time limits); ``live_caught_up`` is reported
    beside it and does not gate (a fresh process catches up while it serves queries)."""
    postgres = await probe(lambda: services.db.fetch("SELECT 1"), timeout_s=None)
    return Readiness({"postgres": postgres}, {"live_caught_up": services.hub.caught_up})

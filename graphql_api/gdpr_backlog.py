"""The GDPR backlog on the API's /metrics: a long-running process that reads ``gdpr_requests`` and sets
``gamemetrics_gdpr_requests`` and ``gamemetrics_gdpr_oldest_pending_request_age_seconds``, so Prometheus
scrapes the backlog even when no job runs (the retention and `gdpr run` CronJobs expose no port), and
``GameMetricsGDPRRequestPending`` fires on a request nobody finishes."""

from __future__ import annotations

import asyncio

import structlog

from graphql_api.database import Database

log = structlog.get_logger("graphql_api.gdpr_backlog")


async def refresh_once(db: Database) -> None:
    from retention.run import update_gauges

    await db.write(update_gauges)


async def refresh_forever(db: Database, every_s: float) -> None:
    """``refresh_once`` every ``every_s`` seconds until cancelled; a failed read is logged and tried again."""
    while True:
        try:
            await refresh_once(db)
        except Exception as exc:  # noqa: BLE001 - the API keeps serving; the gauges keep their last values
            log.warning("gdpr_backlog_unreadable", error=str(exc), retry_in_s=every_s)
        await asyncio.sleep(every_s)

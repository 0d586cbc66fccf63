"""``pipeline``: landing consumer lag (``graphql_api.lag_probe``), the newest landed event of the
caller's games (PostgreSQL), dead letters by type (counted by the live consumer), and the replay lag
of the read replica the API queries (none when it reads the primary)."""

from __future__ import annotations

import asyncio

from graphql_api.auth import Principal
from graphql_api.lag_probe import LagProbe
from graphql_api.live import LiveHub
from graphql_api.database import Database
from graphql_api.types import DeadLetterCount, Pipeline


# On a standby: 0 when everything received is replayed (an idle primary sends nothing new, and
# now() - the last replayed commit would grow without any lag), else the age of the last replayed commit.
REPLICA_LAG_SQL = """
SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0
            ELSE GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()))::float8 END
"""


async def replica_lag_seconds(db: Database) -> float | None:
    """Seconds the database the API reads is behind its primary; None when it is a primary itself."""
    rows = await db.fetch(REPLICA_LAG_SQL)
    return None if rows[0][0] is None else float(rows[0][0])


async def pipeline(db: Database, probe: LagProbe, hub: LiveHub, principal: Principal) -> Pipeline:
    scope = None if principal.all_games else sorted(principal.games)
    partitions, replica_lag, newest = await asyncio.gather(
        probe.partitions(),
        replica_lag_seconds(db),
        db.fetch(
            """
            SELECT e.event_time, e.landed_at FROM games g CROSS JOIN LATERAL (
                SELECT event_time, landed_at FROM player_events p WHERE p.game_id = g.game_id
                ORDER BY event_time DESC LIMIT 1) e
            WHERE %(scope)s::text[] IS NULL OR g.game_id = ANY(%(scope)s::text[])
            ORDER BY e.event_time DESC LIMIT 1
            """,
            {"scope": scope},
        ),
    )
    dead = sorted(hub.dead_letters.items(), key=lambda kv: (-kv[1], kv[0]))
    return Pipeline(
        consumer_group=probe.group, topic=probe.topic, consumer_lag=sum(p.lag for p in partitions),
        partitions=partitions,
        last_landed_event_time=newest[0][0] if newest else None, last_landed_at=newest[0][1] if newest else None,
        dead_letters_total=sum(hub.dead_letters.values()),
        dead_letters=[DeadLetterCount(error_type=t, count=n) for t, n in dead],
        replica_lag_seconds=replica_lag,
    )

"""Step 3, land: write rows to ``player_events`` idempotently on event id.

Rows are COPYed (binary) into a temporary staging table, then moved with one
``INSERT ... SELECT`` that skips event ids already stored (see ``DEDUP_WINDOW``) and
``ON CONFLICT DO NOTHING``: a replayed batch or a retried event adds no row, and the count of new
rows tells duplicates apart. One transaction per call; it commits before returning,
so the caller may acknowledge the Kafka offset afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog

from gamemetrics.errors import StoreError
from gamemetrics.settings import Settings
from gamemetrics.store import db
from gamemetrics.store.tables import PLAYER_EVENT_COLUMNS

log = structlog.get_logger("processors.land")

_COLUMNS = ", ".join(PLAYER_EVENT_COLUMNS)
_TYPES = [
    "uuid", "timestamptz", "text", "text", "text", "timestamptz", "timestamptz",
    "text", "text", "text", "text", "jsonb", "uuid",
]
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS player_events_stage "
    "(LIKE player_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
# A client retry may carry a different sent_at, so its skew-corrected event_time differs from the
# first copy's: the unique key (event_id, event_time) alone would let it in. Rows whose event_id
# is already stored within DEDUP_WINDOW of their event_time are skipped (the probe uses the
# primary key index, whose leading column is event_id, in the few partitions the window spans).
# Both copies of an event travel in the same Kafka partition (keyed by player), so one worker
# sees them in order and the check cannot race. Duplicates inside one batch keep the first.
DEDUP_WINDOW = "24 hours"
_MOVE = f"""
INSERT INTO player_events ({_COLUMNS})
SELECT DISTINCT ON (s.event_id) {", ".join("s." + c for c in PLAYER_EVENT_COLUMNS)}
FROM player_events_stage s
WHERE NOT EXISTS (
    SELECT 1 FROM player_events p
    WHERE p.event_id = s.event_id
      AND p.event_time BETWEEN s.event_time - interval '{DEDUP_WINDOW}' AND s.event_time + interval '{DEDUP_WINDOW}'
)
ORDER BY s.event_id, s.event_time
ON CONFLICT (event_id, event_time) DO NOTHING
"""


@dataclass(frozen=True)
class RetryPolicy:
    """How the sink waits for PostgreSQL to come back before giving up on a batch."""

    first_delay_s: float = 0.5
    max_delay_s: float = 10.0
    max_attempts: int = 1_000_000  # effectively: until the database is back


@dataclass(frozen=True)
class LandResult:
    written: int
    duplicates: int


class PostgresSink:
    def __init__(self, settings: Settings, retry: RetryPolicy = RetryPolicy()) -> None:
        self._settings = settings
        self._retry = retry
        self._conn: psycopg.AsyncConnection | None = None

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await db.connect_async(self._settings)
            await self._conn.execute(_STAGE)
            await self._conn.commit()
        return self._conn

    async def _write_once(self, rows: Sequence[tuple[Any, ...]]) -> LandResult:
        conn = await self._connection()
        async with conn.transaction():
            async with conn.cursor() as cur:
                async with cur.copy(f"COPY player_events_stage ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(_TYPES)
                    for row in rows:
                        await copy.write_row(row)
                await cur.execute(_MOVE)
                written = cur.rowcount
        return LandResult(written, len(rows) - written)

    async def write(self, rows: Sequence[tuple[Any, ...]]) -> LandResult:
        """Write and commit, retrying while PostgreSQL is unreachable; never returns half-written."""
        delay = self._retry.first_delay_s
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                return await self._write_once(rows)
            except (psycopg.OperationalError, StoreError) as exc:
                await self._discard_connection()
                log.warning("postgres_unavailable", attempt=attempt, retry_in_s=delay, error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry.max_delay_s)
        raise StoreError(f"PostgreSQL stayed unavailable for {self._retry.max_attempts} attempts")

    async def _discard_connection(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception:
                pass
        self._conn = None

    async def close(self) -> None:
        await self._discard_connection()

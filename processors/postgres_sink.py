"""Step 5, land: the PostgreSQL sink, one transaction per group of Kafka messages.

In order, inside the transaction (``LandingTransaction``):
  1. lock the batch's players (transaction advisory locks, in one global order), so two workers
     overlapping during a rebalance serialise on a player instead of double counting;
  2. probe ``event_keys`` for the (event id, client ts) pairs already landed: the dedup key does
     not depend on sent_at, so a client retry whose corrected event_time moved by days is found
     (only the partitions of the group's client days: event_keys is partitioned by day of client_ts);
     events whose client ts is past the keys' horizon (their key may be pruned) are also looked up
     among the rows themselves (player_events has no unique key since migration 0006);
  3. read the state enrichment needs (known players, session event counts);
  4. binary COPY the enriched rows into a temporary stage, then one statement inserts their keys
     into ``event_keys``, the rows into ``player_events``, and feeds every rollup table from the
     rows it actually inserted (data-modifying CTEs over ``RETURNING``), so a replay adds nothing.
The caller publishes, then the context manager commits; any error rolls everything back. Every
driver error leaves translated by :mod:`store.connections` (``StoreUnavailable`` for a lost
connection, wherever it happens: the currency refresh included).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import psycopg
import structlog
from psycopg.types.json import Jsonb

from gamemetrics import metric_defs as m
from gamemetrics.settings import Settings
from processors.enrich import EnrichedEvent, KnownPlayer, State
from processors.settings import WorkerSettings
from store.connections import AsyncConnectionHolder
from store.privacy import PlayerHasher
from store.tables import PLAYER_EVENT_COLUMNS
from store.tombstones import Tombstone, tombstones_for

log = structlog.get_logger("processors.postgres_sink")

_COLUMNS = ", ".join(PLAYER_EVENT_COLUMNS)
# The stage holds the values as the worker has them (ids as text, times as epoch ms); the INSERT
# converts them, in C, inside PostgreSQL.
_EPOCH_MS = "'epoch'::timestamptz + {} * interval '1 millisecond'"
_STAGE_TYPES = {
    "event_id": "text", "event_time": "int8", "game_id": "text", "player_id": "text", "event_type": "text",
    "client_ts": "int8", "received_at": "int8", "session_id": "text", "platform": "text", "app_version": "text",
    "country": "text", "properties": "jsonb", "batch_id": "text", "session_seq": "int4", "is_new_player": "bool",
    "revenue_usd": "numeric", "delay_ms": "int8",
}
_COPY_TYPES = [_STAGE_TYPES[c] for c in PLAYER_EVENT_COLUMNS]
_FROM_STAGE = ", ".join(
    f"{c}::uuid" if _STAGE_TYPES[c] == "text" and c in ("event_id", "batch_id")
    else _EPOCH_MS.format(c) if _STAGE_TYPES[c] == "int8" and c != "delay_ms"
    else c
    for c in PLAYER_EVENT_COLUMNS
)
_PROPERTIES = PLAYER_EVENT_COLUMNS.index("properties")
_REVENUE = PLAYER_EVENT_COLUMNS.index("revenue_usd")
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS player_events_stage_raw ("
    + ", ".join(f"{c} {_STAGE_TYPES[c]}" for c in PLAYER_EVENT_COLUMNS)
    + ") ON COMMIT DELETE ROWS"
)
_LOCK = (
    "SELECT pg_advisory_xact_lock(h) FROM "
    "(SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k ORDER BY 1) AS locks"
)
# The primary key index (event_id, client_ts), only in the partitions of the group's client days:
# an index probe per event and partition (a join on the pairs makes the planner hash the whole
# table); the exact pairs are matched in Python. The ids travel as one comma-joined string (they are
# validated UUIDs): psycopg dumps a Python list element by element, which cost more than the probe.
_EXISTING = (
    "SELECT event_id::text, (extract(epoch FROM client_ts) * 1000)::int8 FROM event_keys "
    "WHERE event_id = ANY(string_to_array(%s, ',')::uuid[]) AND client_ts BETWEEN 'epoch'::timestamptz + %s * interval '1 millisecond' "
    "AND 'epoch'::timestamptz + %s * interval '1 millisecond'"
)
# The keys of client days older than GAMEMETRICS_WORKER_DEDUP_KEEP_DAYS are pruned
# (store.partitions.prune_event_keys), so an event whose client ts is that old (a Kafka or DLQ
# replay weeks later, a client clock far behind) is also looked up among the rows: by what a replay
# repeats exactly, (game, player, corrected event time) on player_events_player_time, then the id.
# Most groups have no such event and skip this statement. The exact tuples are matched in Python.
_EXISTING_ROWS = (
    "SELECT event_id::text, game_id, player_id, (extract(epoch FROM event_time) * 1000)::int8 FROM player_events "
    "WHERE game_id = ANY(%s::text[]) AND player_id = ANY(%s::text[]) AND event_time = ANY(%s::timestamptz[]) "
    "AND event_id = ANY(%s::uuid[])"
)
_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_PLAYERS = (
    "SELECT p.game_id, p.player_id, p.lifetime_revenue_usd FROM players p "
    "JOIN unnest(%s::text[], %s::text[]) AS k(g, pl) ON p.game_id = k.g AND p.player_id = k.pl"
)
_SESSIONS = (
    "SELECT s.game_id, s.session_id, s.events FROM sessions s "
    "JOIN unnest(%s::text[], %s::text[]) AS k(g, se) ON s.game_id = k.g AND s.session_id = k.se"
)
# (5)+(6) in one statement: insert the staged rows, and feed every rollup from exactly the rows
# inserted (RETURNING), so a replay that inserts nothing adds nothing. Keys are grouped first, so no
# upsert touches a row twice, and each upsert takes its rows in key order, so two workers whose
# transactions share rollup rows (the same game and minute) wait for each other instead of deadlocking.
_MINUTE = "date_trunc('minute', event_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_HOUR = "date_trunc('hour', event_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_DAY = "(event_time AT TIME ZONE 'UTC')::date"
_LAND_AND_ROLL_UP = f"""
WITH keys AS (
    INSERT INTO event_keys (event_id, client_ts)
    SELECT event_id::uuid, {_EPOCH_MS.format("client_ts")} FROM player_events_stage_raw
    {{on_conflict_keys}}
    RETURNING event_id
),
ins AS (
    INSERT INTO player_events ({_COLUMNS}) SELECT {_FROM_STAGE} FROM player_events_stage_raw {{only_new_keys}}
    RETURNING event_id, event_time, game_id, player_id, event_type, session_id, platform, app_version, country,
              properties, revenue_usd
),
new_minute_players AS (
    INSERT INTO rollup_minute_players (game_id, bucket, event_type, player_id)
    SELECT DISTINCT game_id, {_MINUTE}, event_type, player_id FROM ins ORDER BY 1, 2, 3, 4
    ON CONFLICT DO NOTHING
    RETURNING game_id, bucket, event_type
),
uniques AS (
    SELECT game_id, bucket, event_type, count(*) AS n FROM new_minute_players GROUP BY 1, 2, 3
),
minutes AS (
    INSERT INTO event_rollup_minute AS r (game_id, bucket, event_type, events, unique_players, revenue_usd)
    SELECT m.game_id, m.bucket, m.event_type, m.events, coalesce(u.n, 0), m.revenue
    FROM (SELECT game_id, {_MINUTE} AS bucket, event_type, count(*) AS events, coalesce(sum(revenue_usd), 0) AS revenue
          FROM ins GROUP BY 1, 2, 3) m
    LEFT JOIN uniques u USING (game_id, bucket, event_type)
    ORDER BY 1, 2, 3
    ON CONFLICT (game_id, bucket, event_type) DO UPDATE SET
        events = r.events + excluded.events, unique_players = r.unique_players + excluded.unique_players,
        revenue_usd = r.revenue_usd + excluded.revenue_usd
),
daily AS (
    INSERT INTO player_daily_activity AS a (game_id, day, player_id, events, sessions, revenue_usd)
    SELECT game_id, {_DAY}, player_id, count(*), count(*) FILTER (WHERE event_type = 'session_start'),
           coalesce(sum(revenue_usd), 0)
    FROM ins GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (game_id, day, player_id) DO UPDATE SET
        events = a.events + excluded.events, sessions = a.sessions + excluded.sessions,
        revenue_usd = a.revenue_usd + excluded.revenue_usd
),
players_up AS (
    INSERT INTO players AS p (game_id, player_id, first_seen, last_seen, events, sessions, lifetime_revenue_usd,
                              purchases, platform, country, app_version)
    SELECT game_id, player_id, min(event_time), max(event_time), count(*),
           count(*) FILTER (WHERE event_type = 'session_start'), coalesce(sum(revenue_usd), 0),
           count(*) FILTER (WHERE event_type = 'purchase'),
           (array_agg(platform ORDER BY event_time DESC) FILTER (WHERE platform IS NOT NULL))[1],
           (array_agg(country ORDER BY event_time DESC) FILTER (WHERE country IS NOT NULL))[1],
           (array_agg(app_version ORDER BY event_time DESC) FILTER (WHERE app_version IS NOT NULL))[1]
    FROM ins GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (game_id, player_id) DO UPDATE SET
        first_seen = least(p.first_seen, excluded.first_seen),
        last_seen = greatest(p.last_seen, excluded.last_seen),
        events = p.events + excluded.events,
        sessions = p.sessions + excluded.sessions,
        lifetime_revenue_usd = p.lifetime_revenue_usd + excluded.lifetime_revenue_usd,
        purchases = p.purchases + excluded.purchases,
        platform = coalesce(excluded.platform, p.platform),
        country = coalesce(excluded.country, p.country),
        app_version = coalesce(excluded.app_version, p.app_version)
),
sessions_up AS (
    INSERT INTO sessions AS s (game_id, session_id, player_id, started_at, last_event_at, ended_at, duration_s, events)
    SELECT game_id, session_id, min(player_id), min(event_time), max(event_time),
           max(event_time) FILTER (WHERE event_type = 'session_end'),
           max((properties->>'duration_s')::float8) FILTER (WHERE event_type = 'session_end'),
           count(*)
    FROM ins WHERE session_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (game_id, session_id) DO UPDATE SET
        started_at = least(s.started_at, excluded.started_at),
        last_event_at = greatest(s.last_event_at, excluded.last_event_at),
        ended_at = coalesce(excluded.ended_at, s.ended_at),
        duration_s = coalesce(excluded.duration_s, s.duration_s),
        events = s.events + excluded.events
),
matches AS (
    INSERT INTO match_outcomes_hourly AS mo (game_id, bucket, mode, outcome, matches)
    SELECT game_id, {_HOUR}, properties->>'mode', properties->>'outcome', count(*)
    FROM ins WHERE event_type = 'match_result' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (game_id, bucket, mode, outcome) DO UPDATE SET matches = mo.matches + excluded.matches
)
{{result}}
"""
# Fast path: the probe ran under the players' locks, so no staged row can conflict; a plain INSERT
# skips the speculative-insertion work of ON CONFLICT (measured ~2-3 µs per row) and every staged row
# is new. event_keys' primary key is the only unique key the statement can hit (player_events has
# none since migration 0006). Safe path, after a unique violation of it that the probe could not
# foresee: the same (event id, client ts) in the batches of two players, which hold different locks,
# landing at the same moment (two clients reusing an id, or a forged copy). Then only the rows whose
# key this statement inserted go in (the keys CTE returns just those), and their ids are returned.
_LAND_FAST = _LAND_AND_ROLL_UP.format(on_conflict_keys="", only_new_keys="", result="SELECT count(*) FROM ins")
_LAND_SAFE = _LAND_AND_ROLL_UP.format(
    on_conflict_keys="ON CONFLICT DO NOTHING",
    only_new_keys="WHERE event_id::uuid IN (SELECT event_id FROM keys)",
    result="SELECT event_id::text FROM ins",
)


def _columns(rows: Iterable[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Row tuples -> one list per column (the parameters of an unnest)."""
    cols: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for i, value in enumerate(row):
            cols[i].append(value)
    return cols


async def stage_rows(cur: psycopg.AsyncCursor, events: list[EnrichedEvent]) -> None:
    """Binary COPY of the enriched rows into this session's stage table (``_STAGE``)."""
    async with cur.copy(f"COPY player_events_stage_raw ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_COPY_TYPES)
        for event in events:
            row = list(event.row())
            row[_PROPERTIES] = Jsonb(row[_PROPERTIES], dumps=orjson.dumps)
            if row[_REVENUE] is not None:  # binary COPY into numeric takes a Decimal
                row[_REVENUE] = Decimal(repr(row[_REVENUE]))
            await copy.write_row(row)


class LandingTransaction:
    def __init__(self, conn: psycopg.AsyncConnection, hasher: PlayerHasher, dedup_keep_days: int) -> None:
        self._hasher = hasher
        self._conn = conn
        self._keep_days = dedup_keep_days

    async def lock_players(self, keys: Iterable[tuple[str, str]]) -> None:
        await self._conn.execute(_LOCK, ([f"{g}\x1f{p}" for g, p in keys],))

    async def tombstones(self, players: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Tombstone]:
        return await tombstones_for(self._conn, self._hasher, players)

    async def existing_event_ids(self, events: list[dict[str, Any]], game_ids: list[str]) -> set[str]:
        client_ts = [e["ts"] for e in events]
        ids = ",".join([e["event_id"] for e in events])
        cur = await self._conn.execute(_EXISTING, (ids, min(client_ts), max(client_ts)))
        wanted = {(e["event_id"], e["ts"]) for e in events}
        stored = {event_id for event_id, ts in await cur.fetchall() if (event_id, ts) in wanted}
        # one day of margin: the worker's clock against the server's, and the hourly prune timer
        horizon_ms = int(time.time() * 1000) - (self._keep_days - 1) * _DAY_MS
        if min(client_ts) < horizon_ms:
            old = [(e, g) for e, g in zip(events, game_ids) if e["ts"] < horizon_ms and e["event_id"] not in stored]
            stored |= await self._existing_rows(old)
        return stored

    async def _existing_rows(self, events: list[tuple[dict[str, Any], str]]) -> set[str]:
        """Which of these events are stored rows, by (game, player, event time, id)."""
        if not events:
            return set()
        cur = await self._conn.execute(_EXISTING_ROWS, (
            list({g for _, g in events}), list({e["player_id"] for e, _ in events}),
            list({_EPOCH + timedelta(milliseconds=e["event_time"]) for e, _ in events}),
            [e["event_id"] for e, _ in events],
        ))
        wanted = {(e["event_id"], g, e["player_id"], e["event_time"]) for e, g in events}
        return {row[0] for row in await cur.fetchall() if row in wanted}

    async def state(self, players: set[tuple[str, str]], sessions: set[tuple[str, str]]) -> State:
        state = State()
        if players:
            cur = await self._conn.execute(_PLAYERS, _columns(players, 2))
            state.players = {(g, p): KnownPlayer(float(rev)) for g, p, rev in await cur.fetchall()}
        if sessions:
            cur = await self._conn.execute(_SESSIONS, _columns(sessions, 2))
            state.session_events = {(g, s): n for g, s, n in await cur.fetchall()}
        return state

    async def land(self, events: list[EnrichedEvent]) -> set[str]:
        """COPY the enriched rows to the stage, insert them and update every rollup; the ids inserted."""
        async with self._conn.cursor() as cur:
            await stage_rows(cur, events)
            try:
                async with self._conn.transaction():  # a savepoint: a conflict undoes only this statement
                    await cur.execute(_LAND_FAST)
                    await cur.fetchall()
                return {event.event["event_id"] for event in events}
            except psycopg.errors.UniqueViolation:
                m.LANDING_CONFLICT_FALLBACKS.inc()
                await cur.execute(_LAND_SAFE)
                return {row[0] for row in await cur.fetchall()}


async def _prepare(conn: psycopg.AsyncConnection) -> None:
    await conn.execute(_STAGE)


class PostgresSink:
    """Owns the worker's connection; hands out one ``LandingTransaction`` per group of messages."""

    def __init__(self, settings: Settings, rates_refresh_s: float = 60.0,
                 dedup_keep_days: int = WorkerSettings.model_fields["dedup_keep_days"].default) -> None:
        self._db = AsyncConnectionHolder(settings, setup=_prepare)
        self._hasher = PlayerHasher.of(settings)
        self._rates_refresh_s = rates_refresh_s
        self._keep_days = dedup_keep_days  # how long event_keys keeps a key (by client day)
        self._rates: dict[str, float] = {}
        self._rates_at = 0.0

    async def usd_per_unit(self) -> dict[str, float]:
        """The currency table, re-read every ``rates_refresh_s``; StoreUnavailable when it cannot be."""
        if not self._rates or time.monotonic() - self._rates_at > self._rates_refresh_s:
            async with self._db.transaction("reading currency_rates") as conn:
                cur = await conn.execute("SELECT currency, usd_per_unit FROM currency_rates")
                rates = {code: float(rate) for code, rate in await cur.fetchall()}
            changed = sorted(code for code in rates.keys() | self._rates.keys() if rates.get(code) != self._rates.get(code))
            if self._rates and changed:
                log.info("currency_rates_changed", currencies=changed)
            self._rates = rates
            self._rates_at = time.monotonic()
        return self._rates

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[LandingTransaction]:
        """Commits on a clean exit, rolls back on any error; store errors (StoreUnavailable, ...) out."""
        async with self._db.transaction("landing a group of messages") as conn:
            yield LandingTransaction(conn, self._hasher, self._keep_days)

    async def close(self) -> None:
        await self._db.close()

"""Step 5, land: the PostgreSQL sink, one transaction per group of Kafka messages.

In order, inside the transaction (``LandingTransaction``):
  1. lock the batch's players (transaction advisory locks, in one global order), so two workers
     overlapping during a rebalance serialise on a player instead of double counting;
  2. claim the events' dedup keys: one binary COPY of the (client ts, event id) pairs, sorted, straight
     into ``event_keys`` under a savepoint (optimistic: a group is almost always all new). Its
     primary key (client_ts, event_id) (migration 0007: a client's ts follows the clock, so the keys
     go in at the right edge of the btree) turns a Kafka replay or a client retry in the group into a
     unique violation: then the savepoint is rolled back and that group takes the probe path (look
     the pairs up, insert the rest ON CONFLICT DO NOTHING). The key does not depend on sent_at, so a
     client retry whose corrected event_time moved by days is caught. Events whose client ts is past
     the keys' horizon (their key may be pruned) are also looked up among the rows themselves;
  3. read the state enrichment needs (known players, session event counts);
  4. binary COPY the enriched rows of the claimed events straight into ``player_events`` (no stage,
     no INSERT ... SELECT), then one statement upserts the group's rollup aggregates
     (processors/rollups.py) into every rollup table (declared in store/rollups.py), one row per key in
     key order, so a replay (claiming nothing) adds nothing.
The caller publishes, then the context manager commits; any error rolls everything back. Every
driver error leaves translated by :mod:`store.connections` (``StoreUnavailable`` for a lost
connection, wherever it happens: the currency refresh included).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import structlog

from gamemetrics import metric_defs as m
from gamemetrics.settings import Settings
from processors.copy_rows import events_copy, keys_copy
from processors.enrich import EnrichedEvent, KnownPlayer, State
from processors.rollups import Rollups, aggregate
from processors.settings import WorkerSettings
from store.connections import AsyncConnectionHolder
from store.privacy import PlayerHasher
from store.rollups import EPOCH_MS, PLAYERS, SESSIONS, upsert_params, upsert_sql
from store.tables import PLAYER_EVENT_COLUMNS
from store.tombstones import Tombstone, tombstones_for

log = structlog.get_logger("processors.postgres_sink")

_COLUMNS = ", ".join(PLAYER_EVENT_COLUMNS)
KEYS_COPY = "COPY event_keys (client_ts, event_id) FROM STDIN (FORMAT BINARY)"
EVENTS_COPY = f"COPY player_events ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_LOCK = (
    "SELECT pg_advisory_xact_lock(h) FROM "
    "(SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k ORDER BY 1) AS locks"
)
_SAVEPOINT = "SAVEPOINT claim_keys"
_ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT claim_keys"
_MS = EPOCH_MS
# The probe path, only for a group whose key COPY hit a unique violation. One index probe per pair on
# event_keys' primary key (client_ts, event_id) (LATERAL ... LIMIT 1: a nested loop, never a hash of
# the table; each probe touches the one partition or chunk of its client day). The ids and ts travel
# as comma-joined strings (validated UUIDs, ints): psycopg dumps a Python list element by element.
_PAIRS = "unnest(string_to_array(%s, ',')::int8[], string_to_array(%s, ',')::uuid[]) AS p(t, i)"
_EXISTING = (
    f"SELECT p.i::text FROM {_PAIRS} CROSS JOIN LATERAL "
    f"(SELECT 1 FROM event_keys k WHERE k.client_ts = {_MS.format('p.t')} AND k.event_id = p.i LIMIT 1) AS hit"
)
# Then the group's other keys: ON CONFLICT DO NOTHING, since a key can still appear meanwhile (the
# same pair in another player's group, which holds other locks); only the events whose key this
# statement inserted land.
_INSERT_KEYS = (
    f"INSERT INTO event_keys (client_ts, event_id) SELECT {_MS.format('p.t')}, p.i FROM {_PAIRS} "
    "ORDER BY 1, 2 ON CONFLICT DO NOTHING RETURNING event_id::text"
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
    f"SELECT p.game_id, p.player_id, p.lifetime_revenue_usd FROM {PLAYERS.table} p "
    "JOIN unnest(%s::text[], %s::text[]) AS k(g, pl) ON p.game_id = k.g AND p.player_id = k.pl"
)
_SESSIONS = (
    f"SELECT s.game_id, s.session_id, s.events FROM {SESSIONS.table} s "
    "JOIN unnest(%s::text[], %s::text[]) AS k(g, se) ON s.game_id = k.g AND s.session_id = k.se"
)
# (6) the group's aggregates (processors/rollups.py), one upsert per rollup table in one statement,
# rendered from the rollups' declarations (store/rollups.py: each list is inserted in its key order,
# and unique_players counts the rows this statement added to rollup_minute_players).
_ROLL_UP = upsert_sql()


def roll_up_params(rollups: Rollups) -> dict[str, list[Any]]:
    """The rollup rows -> ``_ROLL_UP``'s parameters (one list per column)."""
    return upsert_params({f.name: getattr(rollups, f.name) for f in fields(rollups)})


def _columns(rows: Iterable[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Row tuples -> one list per column (the parameters of an unnest)."""
    cols: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for i, value in enumerate(row):
            cols[i].append(value)
    return cols


async def copy_in(cur: psycopg.AsyncCursor, statement: str, payload: bytes) -> None:
    """One binary COPY of a ready payload (processors/copy_rows.py)."""
    async with cur.copy(statement) as copy:
        await copy.write(payload)


class LandingTransaction:
    def __init__(self, conn: psycopg.AsyncConnection, hasher: PlayerHasher, dedup_keep_days: int) -> None:
        self._hasher = hasher
        self._conn = conn
        self._keep_days = dedup_keep_days

    async def lock_players(self, keys: Iterable[tuple[str, str]]) -> None:
        await self._conn.execute(_LOCK, ([f"{g}\x1f{p}" for g, p in keys],))

    async def tombstones(self, players: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Tombstone]:
        return await tombstones_for(self._conn, self._hasher, players)

    async def claim_keys(self, events: list[dict[str, Any]], game_ids: list[str]) -> set[str]:
        """Write the dedup keys of ``events`` (of the games ``game_ids``, one per event; ids unique in
        the group); the ids of those already stored, whose keys are not written (they must not land)."""
        async with self._conn.cursor() as cur:
            # a savepoint, so a conflict undoes only the COPY; never released (one round trip less
            # per group): the rest of the transaction runs in it and commits with it
            await cur.execute(_SAVEPOINT)
            try:
                await copy_in(cur, KEYS_COPY, keys_copy((e["event_id"], e["ts"]) for e in events))
                stored: set[str] = set()
            except psycopg.errors.UniqueViolation:
                await cur.execute(_ROLLBACK_TO_SAVEPOINT)
                m.LANDING_CONFLICT_FALLBACKS.inc()
                stored = await self._claim_probing(cur, events)
        # one day of margin: the worker's clock against the server's, and the hourly prune timer
        horizon_ms = int(time.time() * 1000) - (self._keep_days - 1) * _DAY_MS
        if min(e["ts"] for e in events) < horizon_ms:
            old = [(e, g) for e, g in zip(events, game_ids) if e["ts"] < horizon_ms and e["event_id"] not in stored]
            stored |= await self._existing_rows(old)
        return stored

    async def _claim_probing(self, cur: psycopg.AsyncCursor, events: list[dict[str, Any]]) -> set[str]:
        """The probe path: which pairs are stored, then the others' keys ON CONFLICT DO NOTHING."""
        stored = {row[0] for row in await (await cur.execute(_EXISTING, _pairs(events))).fetchall()}
        fresh = [e for e in events if e["event_id"] not in stored]
        if fresh:
            inserted = {row[0] for row in await (await cur.execute(_INSERT_KEYS, _pairs(fresh))).fetchall()}
            stored |= {e["event_id"] for e in fresh if e["event_id"] not in inserted}
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
        """COPY the rows of claimed events into player_events and upsert the group's rollups; their ids."""
        async with self._conn.cursor() as cur:
            await copy_in(cur, EVENTS_COPY, events_copy(events))
            await cur.execute(_ROLL_UP, roll_up_params(aggregate(events)))
        return {item.event["event_id"] for item in events}


def _pairs(events: list[dict[str, Any]]) -> tuple[str, str]:
    return ",".join([str(e["ts"]) for e in events]), ",".join([e["event_id"] for e in events])


class PostgresSink:
    """Owns the worker's connection; hands out one ``LandingTransaction`` per group of messages."""

    def __init__(self, settings: Settings, rates_refresh_s: float = 60.0,
                 dedup_keep_days: int = WorkerSettings.model_fields["dedup_keep_days"].default) -> None:
        self._db = AsyncConnectionHolder(settings)
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

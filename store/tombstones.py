"""Tombstones of erased players, and the filter that keeps them erased ("no resurrection").

A tombstone is (game_id, keyed hash of the player id, erase time, suppressed). It is written when
an erase is requested, before any row is deleted. From then on landing drops every event of that
player that *happened or was received* before the erase time, so what is still in Kafka, in a
client's retry or in a dead-letter replay never lands again; while the player is suppressed it
drops all of them. Events the player makes after the erase are new data (unless suppressed, in
which case ingest refuses them too: see ``suppressed_players_async``).

The lookup lives in the store so ingest and processors use it without importing ``retention``.

``erased`` / ``erased_sync`` is the ONE check every other consumer of player data makes before it
writes anything about a player: notification delivery (no row, no message for an erased player),
the recommender's fold-in (no point rebuilt from the processed topic) and training (players erased
before it publishes are dropped from the model). Each item is (game_id, player_id, when it was
made, epoch ms); it is erased when the player's tombstone buries something made then.
``drop_erased`` is pure: the landing step calls ``tombstones_for`` once per transaction (after
it has locked the batch's players, so an erase running at the same time either waits for this
transaction or is seen by it) and filters with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from gamemetrics.settings import Settings
from store.privacy import PlayerHasher

_LOOKUP = (
    "SELECT t.game_id, t.player_hash, t.erased_at, t.suppressed FROM player_tombstones t "
    "JOIN unnest(%s::text[], %s::text[]) AS k(g, h) ON t.game_id = k.g AND t.player_hash = k.h"
)


@dataclass(frozen=True)
class Tombstone:
    erased_at_ms: int
    suppressed: bool

    def buries(self, event_time_ms: int, received_at_ms: int) -> bool:
        """True when the event must not land: suppressed, or made or received before the erase."""
        return self.suppressed or event_time_ms <= self.erased_at_ms or received_at_ms <= self.erased_at_ms


Tombstones = Mapping[tuple[str, str], Tombstone]  # (game_id, player_id) -> tombstone


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _query_args(hasher: PlayerHasher, players: Iterable[tuple[str, str]]) -> tuple[dict, list[str], list[str]]:
    by_hash = {(g, hasher(g, p)): (g, p) for g, p in players}
    return by_hash, [g for g, _ in by_hash], [h for _, h in by_hash]


async def tombstones_for(
    conn: psycopg.AsyncConnection, hasher: PlayerHasher, players: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Tombstone]:
    """The tombstones of these (game_id, player_id) pairs, keyed by the pair (one indexed query)."""
    by_hash, games, hashes = _query_args(hasher, players)
    if not hashes:
        return {}
    cursor = await conn.execute(_LOOKUP, (games, hashes))
    return {by_hash[(g, h)]: Tombstone(_ms(at), suppressed) for g, h, at, suppressed in await cursor.fetchall()}


def tombstones_for_sync(
    conn: psycopg.Connection, hasher: PlayerHasher, players: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Tombstone]:
    """``tombstones_for`` on a synchronous connection (restores, DLQ tools)."""
    by_hash, games, hashes = _query_args(hasher, players)
    if not hashes:
        return {}
    rows = conn.execute(_LOOKUP, (games, hashes)).fetchall()
    return {by_hash[(g, h)]: Tombstone(_ms(at), suppressed) for g, h, at, suppressed in rows}


Made = tuple[str, str, int]  # (game_id, player_id, epoch ms the data was made: event time, notification time)


def _buried(stones: Mapping[tuple[str, str], Tombstone], items: Iterable[Made]) -> set[tuple[str, str]]:
    return {(g, p) for g, p, at in items if (stone := stones.get((g, p))) is not None and stone.buries(at, at)}


async def erased(conn: psycopg.AsyncConnection, hasher: PlayerHasher, items: Iterable[Made]) -> set[tuple[str, str]]:
    """The (game_id, player_id) pairs among ``items`` whose tombstone buries what they made then (suppressed,
    or made before the erase): what a consumer must not write. One indexed query for the lot."""
    items = list(items)
    stones = await tombstones_for(conn, hasher, ((g, p) for g, p, _ in items))
    return _buried(stones, items)


def erased_sync(conn: psycopg.Connection, hasher: PlayerHasher, items: Iterable[Made]) -> set[tuple[str, str]]:
    """``erased`` on a synchronous connection (training, jobs)."""
    items = list(items)
    stones = tombstones_for_sync(conn, hasher, ((g, p) for g, p, _ in items))
    return _buried(stones, items)


def drop_erased(
    batches: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]], tombstones: Tombstones
) -> tuple[list[tuple[dict[str, Any], list[dict[str, Any]]]], int]:
    """Pure: the (batch, events) pairs without the events a tombstone buries, and how many it buried.

    Events are the decoded EventBatch events (``player_id``, ``event_time`` in epoch ms); the
    batch carries ``game_id`` and ``received_at`` (epoch ms)."""
    if not tombstones:
        return list(batches), 0
    kept: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    buried = 0
    for batch, events in batches:
        game_id, received_at = batch["game_id"], batch["received_at"]
        survivors = []
        for event in events:
            stone = tombstones.get((game_id, event["player_id"]))
            if stone is not None and stone.buries(event["event_time"], received_at):
                buried += 1
            else:
                survivors.append(event)
        kept.append((batch, survivors))
    return kept, buried


async def suppressed_players_async(conn: psycopg.AsyncConnection) -> set[tuple[str, str]]:
    """Every suppressed (game_id, player_hash): ingest refuses their events. A small set (one row per
    suppression request), read whole and cached by the caller."""
    cursor = await conn.execute("SELECT game_id, player_hash FROM player_tombstones WHERE suppressed")
    return {(g, h) for g, h in await cursor.fetchall()}


class TombstoneCheck:
    """``erased`` bound to the store, for long-running consumers (notification delivery, the recommender's
    fold-in): one connection of its own, waiting while PostgreSQL is down (the caller holds its offsets)."""

    def __init__(self, settings: Settings) -> None:
        from store.connections import WaitingConnection

        self._db = WaitingConnection(settings)
        self._hasher = PlayerHasher.of(settings)

    async def erased(self, items: Iterable[Made]) -> set[tuple[str, str]]:
        items = list(items)
        if not items:
            return set()
        return await self._db.run("checking tombstones", lambda conn: erased(conn, self._hasher, items))

    async def close(self) -> None:
        await self._db.close()


def erased_since_read(settings: Settings, game_id: str, player_ids: Iterable[str], read_at_ms: int) -> set[str]:
    """The players of ``game_id`` erased after data was read at ``read_at_ms`` (or suppressed): a job that read
    PostgreSQL before an erase must not publish them (recommender training)."""
    from store import db

    with db.connect(settings) as conn:
        gone = erased_sync(conn, PlayerHasher.of(settings), ((game_id, p, read_at_ms) for p in player_ids))
    return {p for _, p in gone}

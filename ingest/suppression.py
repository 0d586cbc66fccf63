"""GDPR suppression at the door: events of a player whose erase asked for suppression are refused,
each with a reason, until ``gamemetrics gdpr unsuppress``.

``SuppressionList`` keeps the set of suppressed (game, keyed player hash) pairs in the process and
re-reads it every ``ttl_s`` (a small table: one row per suppression). Between a suppression and the
next refresh, landing still drops the player's events (a suppressed tombstone buries them all), so
the short cache never lets one land. ``refuse_suppressed`` is the pure part.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg
import structlog

from gamemetrics import metric_defs as m
from gamemetrics.settings import Settings
from ingest.validation import Rejection
from store import db
from store.errors import StoreError
from store.privacy import PlayerHasher
from store.tombstones import suppressed_players_async

log = structlog.get_logger("ingest.suppression")

SUPPRESSED = "player_id: this player asked to be erased and suppressed; their events are refused until unsuppressed"


def refuse_suppressed(
    accepted: list[dict[str, Any]], rejected: list[Rejection], suppressed: Callable[[str], bool]
) -> tuple[list[dict[str, Any]], list[Rejection]]:
    """Pure: move the events of suppressed players (``suppressed(player_id)``) from accepted to
    rejected, giving each its index in the request (accepted keep request order)."""
    if not accepted:
        return accepted, rejected
    taken = {r.index for r in rejected}
    indices = (i for i in range(len(accepted) + len(rejected)) if i not in taken)
    kept: list[dict[str, Any]] = []
    refused: list[Rejection] = []
    verdicts: dict[str, bool] = {}
    for index, event in zip(indices, accepted):
        player = event["player_id"]
        if player not in verdicts:
            verdicts[player] = suppressed(player)
        if verdicts[player]:
            refused.append(Rejection(index, event["event_id"], [f"events[{index}].{SUPPRESSED}"]))
        else:
            kept.append(event)
    if not refused:
        return accepted, rejected
    return kept, sorted(rejected + refused, key=lambda r: r.index)


class SuppressionList:
    def __init__(self, settings: Settings, ttl_s: float = 5.0) -> None:
        self._settings = settings
        self._hasher = PlayerHasher.of(settings)
        self._ttl_s = ttl_s
        self._pairs: set[tuple[str, str]] = set()
        self._fresh_until = 0.0
        self._lock = asyncio.Lock()
        self._conn: psycopg.AsyncConnection | None = None

    async def _refresh(self) -> None:
        if time.monotonic() < self._fresh_until:
            return
        async with self._lock:
            if time.monotonic() < self._fresh_until:
                return
            try:
                if self._conn is None or self._conn.closed or self._conn.broken:
                    self._conn = await db.connect_async(self._settings, autocommit=True)
                self._pairs = await suppressed_players_async(self._conn)
            except (StoreError, psycopg.Error, OSError) as exc:  # keep the last list; landing still buries them
                log.warning("suppression_list_stale", error=str(exc))
                if self._conn is not None:
                    await self._conn.close()
                    self._conn = None
            self._fresh_until = time.monotonic() + self._ttl_s

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def predicate(self, game_id: str) -> Callable[[str], bool] | None:
        """``suppressed(player_id)`` for ``game_id`` (the native ingest call's), or None when nobody is
        suppressed; refreshed as for ``refuse``."""
        await self._refresh()
        if not self._pairs:
            return None
        pairs, hasher = self._pairs, self._hasher
        return lambda player: (game_id, hasher(game_id, player)) in pairs

    async def refuse(
        self, game_id: str, accepted: list[dict[str, Any]], rejected: list[Rejection]
    ) -> tuple[list[dict[str, Any]], list[Rejection]]:
        await self._refresh()
        if not self._pairs:
            return accepted, rejected
        pairs, hasher = self._pairs, self._hasher
        kept, refused = refuse_suppressed(accepted, rejected, lambda player: (game_id, hasher(game_id, player)) in pairs)
        m.INGEST_EVENTS_SUPPRESSED.inc(len(accepted) - len(kept))
        return kept, refused

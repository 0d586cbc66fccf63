"""In-memory implementations of the landing edges, for fast unit tests of the landing logic.

    InMemorySink        the ``Sink`` contract in dicts: rows keyed by (event id, client ts), the
                        players and sessions enrichment reads, transactions that keep everything or
                        nothing; ``unavailable`` makes it refuse like a PostgreSQL that is down
    InMemoryPublisher   the ``Publisher`` contract in lists; ``unavailable`` refuses like Kafka down

A seam for tests and benches only: they never replace the tests on the real PostgreSQL and Kafka
(tests/processors/test_landing.py runs the same suite on both backends of tests/processors/backends.py).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from processors.enrich import EnrichedEvent, KnownPlayer, State
from store.tombstones import Tombstone
from store.errors import StoreUnavailable
from streams.errors import ProduceError


@dataclass
class _Tables:
    keys: set[tuple[str, int]] = field(default_factory=set)  # (event_id, client ts) claimed
    rows: dict[tuple[str, int], EnrichedEvent] = field(default_factory=dict)  # (event_id, client ts) -> row
    lifetime: dict[tuple[str, str], float] = field(default_factory=dict)     # (game, player) -> revenue
    session_events: dict[tuple[str, str], int] = field(default_factory=dict)  # (game, session) -> events
    tombstones: dict[tuple[str, str], Tombstone] = field(default_factory=dict)  # (game, player) -> erase


class InMemoryTransaction:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def lock_players(self, keys: Iterable[tuple[str, str]]) -> None:
        pass  # one process, one transaction at a time

    async def tombstones(self, players: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Tombstone]:
        return {p: self._t.tombstones[p] for p in players if p in self._t.tombstones}

    async def claim_keys(self, events: list[dict[str, Any]], game_ids: list[str]) -> set[str]:
        stored = {e["event_id"] for e in events if (e["event_id"], e["ts"]) in self._t.keys}
        self._t.keys.update((e["event_id"], e["ts"]) for e in events if e["event_id"] not in stored)
        return stored

    async def state(self, players: set[tuple[str, str]], sessions: set[tuple[str, str]]) -> State:
        return State(
            players={p: KnownPlayer(self._t.lifetime[p]) for p in players if p in self._t.lifetime},
            session_events={s: self._t.session_events[s] for s in sessions if s in self._t.session_events},
        )

    async def land(self, events: list[EnrichedEvent]) -> set[str]:
        fresh: set[str] = set()
        for item in events:
            key = (item.event["event_id"], item.event["ts"])
            if key in self._t.rows:
                continue
            self._t.rows[key] = item
            fresh.add(item.event["event_id"])
            player = (item.game_id, item.event["player_id"])
            self._t.lifetime[player] = round(self._t.lifetime.get(player, 0.0) + (item.revenue_usd or 0.0), 6)
            if item.event["session_id"] is not None:
                session = (item.game_id, item.event["session_id"])
                self._t.session_events[session] = self._t.session_events.get(session, 0) + 1
        return fresh


class InMemorySink:
    def __init__(self, usd_per_unit: Mapping[str, float] | None = None) -> None:
        self._tables = _Tables()
        self._rates = dict(usd_per_unit or {"USD": 1.0})
        self.unavailable = False

    def _check(self) -> None:
        if self.unavailable:
            raise StoreUnavailable("the in-memory sink is set unavailable")

    async def usd_per_unit(self) -> dict[str, float]:
        self._check()
        return self._rates

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[InMemoryTransaction]:
        self._check()
        working = copy.deepcopy(self._tables)
        yield InMemoryTransaction(working)
        self._check()
        self._tables = working  # commit: only on a clean exit

    async def close(self) -> None:
        pass

    # -- what a test reads back ------------------------------------------------------------

    def rows(self) -> list[EnrichedEvent]:
        return list(self._tables.rows.values())


class InMemoryPublisher:
    def __init__(self) -> None:
        self.processed_batches: list[dict[str, Any]] = []
        self.dead_letter_records: list[tuple[bytes | None, dict[str, Any]]] = []
        self.unavailable = False

    def _check(self) -> None:
        if self.unavailable:
            raise ProduceError("the in-memory publisher is set unavailable")

    async def processed(self, batches: list[dict[str, Any]]) -> None:
        if batches:
            self._check()
            self.processed_batches += batches

    async def dead_letters(self, records: list[tuple[bytes | None, dict[str, Any]]]) -> None:
        if records:
            self._check()
            self.dead_letter_records += records

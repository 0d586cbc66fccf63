"""The landing steps' two edges, as small interfaces: where rows go (a ``Sink``) and where the
processed batches and dead letters go (a ``Publisher``).

    Sink            PostgreSQL in production (:class:`processors.postgres_sink.PostgresSink`);
                    :class:`processors.memory.InMemorySink` for fast unit tests
    Publisher       Kafka in production (:class:`processors.publisher.KafkaPublisher`);
                    :class:`processors.memory.InMemoryPublisher` for fast unit tests

The same contract tests run against both (tests/processors/test_landing.py, on the backends of
tests/processors/backends.py). Implementations
raise the store's or the streams' own errors (``StoreUnavailable``, ``ProduceError``, ...), never
a driver's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from processors.enrich import EnrichedEvent, State
from store.tombstones import Tombstone


class SinkTransaction(Protocol):
    """One landing transaction: everything in it is kept together or not at all."""

    async def lock_players(self, keys: Iterable[tuple[str, str]]) -> None:
        """Serialise with any other transaction touching these (game_id, player_id)."""

    async def tombstones(self, players: Iterable[tuple[str, str]]) -> Mapping[tuple[str, str], Tombstone]:
        """The tombstones (erased or suppressed players, store/tombstones.py) among these (game_id, player_id)."""

    async def claim_keys(self, events: list[dict[str, Any]], game_ids: list[str]) -> set[str]:
        """Record the dedup keys (event id, the client's own ``ts``) of ``events`` (of the games
        ``game_ids``, one per event; ids unique in the group) and return the ids of those already
        stored, whose keys are left alone: by that key, and, past the horizon where keys are kept, by
        game, player, event time and id (what a replay repeats). Only the other events may land."""

    async def state(self, players: set[tuple[str, str]], sessions: set[tuple[str, str]]) -> State:
        """What enrichment needs to know of these players and sessions."""

    async def land(self, events: list[EnrichedEvent]) -> set[str]:
        """Store the rows of events whose keys this transaction claimed, and their rollups; their ids."""


class Sink(Protocol):
    async def usd_per_unit(self) -> Mapping[str, float]:
        """The currency table (units -> USD)."""

    def transaction(self) -> AbstractAsyncContextManager[SinkTransaction]:
        """Commits on a clean exit, rolls back on any error."""

    async def close(self) -> None: ...


class Publisher(Protocol):
    async def processed(self, batches: list[dict[str, Any]]) -> None:
        """Publish ProcessedEventBatch records (plain values); returns once all are acknowledged."""

    async def dead_letters(self, records: list[tuple[bytes | None, dict[str, Any]]]) -> None:
        """Publish (source key, DeadLetter record) pairs; returns once all are acknowledged."""

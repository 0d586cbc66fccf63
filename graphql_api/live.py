"""Live views for the subscriptions, kept in memory from ``player.events.processed``. No I/O.

The live source (``graphql_api.live_source``) hands every processed batch to :meth:`LiveHub.publish`
on the event loop. The hub

- keeps a :class:`LiveWindow` per game: events, revenue and players per second of the Kafka
  timestamp (when the landing worker published the batch), for ``liveMetrics``;
- fans each event out to the ``liveEvents`` subscribers of its game, each with a bounded buffer:
  a subscriber that reads too slowly loses its oldest events and is told how many
  (``LiveEventBatch.dropped``) instead of slowing the others down.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from gamemetrics import metric_defs as m
from graphql_api.types import LiveEvent, LiveMetrics

ACTIVE_WINDOW_S = 300  # liveMetrics.activePlayers5m
MINUTE_S = 60  # liveMetrics.eventsLastMinute, revenueLastMinuteUsd
SETTLE_S = 2  # eventsPerSecond reports the second that ended SETTLE_S ago, so late messages are in it


@dataclass(frozen=True)
class LiveRecord:
    """One processed batch: one player's newly landed events."""

    game_id: str
    player_id: str
    ts_ms: int
    events: list[LiveEvent]
    replayed: bool = False  # read back at start (warm-up): counted in the windows, not sent to subscribers


@dataclass
class _Second:
    events: int = 0
    revenue_usd: float = 0.0
    players: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class WindowSnapshot:
    second: int
    events_per_second: int
    events_last_minute: int
    active_players: int
    revenue_last_minute_usd: float


class LiveWindow:
    """Per-second counts of one game over the last ``ACTIVE_WINDOW_S`` seconds; exact distinct players."""

    def __init__(self) -> None:
        self._seconds: dict[int, _Second] = {}
        self._player_seconds: Counter[str] = Counter()  # player -> seconds of the window holding them
        self._oldest: int | None = None

    def add(self, second: int, player_id: str, events: int, revenue_usd: float) -> None:
        bucket = self._seconds.get(second)
        if bucket is None:
            bucket = self._seconds[second] = _Second()
            self._oldest = second if self._oldest is None else min(self._oldest, second)
        bucket.events += events
        bucket.revenue_usd += revenue_usd
        if player_id not in bucket.players:
            bucket.players.add(player_id)
            self._player_seconds[player_id] += 1

    def expire(self, now_s: int) -> None:
        cutoff = now_s - ACTIVE_WINDOW_S
        if self._oldest is None or self._oldest > cutoff:
            return
        for second in [s for s in self._seconds if s <= cutoff]:
            for player in self._seconds.pop(second).players:
                left = self._player_seconds[player] - 1
                if left:
                    self._player_seconds[player] = left
                else:
                    del self._player_seconds[player]
        self._oldest = min(self._seconds, default=None)

    def snapshot(self, now: float, tick: int | None = None) -> WindowSnapshot:
        """``tick``: the whole second this snapshot stands for (default: the current one)."""
        now_s = int(now)
        self.expire(now_s)
        second = (now_s if tick is None else tick) - SETTLE_S
        minute = [self._seconds[s] for s in range(second - MINUTE_S + 1, second + 1) if s in self._seconds]
        current = self._seconds.get(second)
        return WindowSnapshot(
            second=second,
            events_per_second=current.events if current else 0,
            events_last_minute=sum(b.events for b in minute),
            active_players=len(self._player_seconds),
            revenue_last_minute_usd=round(sum(b.revenue_usd for b in minute), 6),
        )

    @property
    def empty(self) -> bool:
        return not self._seconds


class EventSubscriber:
    """One ``liveEvents`` subscription: a bounded buffer the hub fills and the resolver drains."""

    def __init__(self, game_id: str, event_types: frozenset[str] | None, buffer: int) -> None:
        self.game_id = game_id
        self.event_types = event_types
        self._buffer: deque[LiveEvent] = deque()
        self._limit = buffer
        self._ready = asyncio.Event()
        self._dropped = 0

    def offer(self, event: LiveEvent) -> None:
        if self.event_types is not None and event.event_type not in self.event_types:
            return
        if len(self._buffer) >= self._limit:
            self._buffer.popleft()
            self._dropped += 1
            m.GRAPHQL_LIVE_EVENTS_DROPPED.inc()
        self._buffer.append(event)
        self._ready.set()

    async def next_batch(self, max_events: int) -> tuple[list[LiveEvent], int]:
        """Waits for at least one event; returns up to ``max_events`` and how many were dropped before them."""
        while not self._buffer:
            self._ready.clear()
            await self._ready.wait()
        take = min(max_events, len(self._buffer))
        events = [self._buffer.popleft() for _ in range(take)]
        dropped, self._dropped = self._dropped, 0
        return events, dropped


class LiveHub:
    def __init__(self, subscriber_buffer: int, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._buffer = subscriber_buffer
        self._windows: dict[str, LiveWindow] = {}
        self._subscribers: dict[str, set[EventSubscriber]] = {}
        self.dead_letters: Counter[str] = Counter()
        self.caught_up = False  # set by the source once it read up to the end it saw at start

    def publish(self, records: list[LiveRecord]) -> None:
        now_s = int(self._clock())
        for record in records:
            window = self._windows.get(record.game_id)
            if window is None:
                window = self._windows[record.game_id] = LiveWindow()
            window.expire(now_s)
            revenue = sum(e.revenue_usd or 0.0 for e in record.events)
            window.add(record.ts_ms // 1000, record.player_id, len(record.events), revenue)
            subscribers = None if record.replayed else self._subscribers.get(record.game_id)
            if subscribers:
                for event in record.events:
                    for subscriber in subscribers:
                        subscriber.offer(event)

    def sweep(self) -> None:
        """Forget what fell out of every window (games that went quiet included)."""
        now_s = int(self._clock())
        for game_id, window in list(self._windows.items()):
            window.expire(now_s)
            if window.empty:
                del self._windows[game_id]

    def reset(self) -> None:
        """Forget the windows and dead-letter counts (the source is about to read them again); subscribers stay."""
        self._windows.clear()
        self.dead_letters.clear()
        self.caught_up = False

    def count_dead_letters(self, error_types: list[str]) -> None:
        self.dead_letters.update(error_types)

    def metrics(self, game_id: str, tick: int | None = None) -> LiveMetrics:
        now = self._clock()
        window = self._windows.get(game_id)
        snap = (window or LiveWindow()).snapshot(now, tick)
        return LiveMetrics(
            game_id=game_id,
            at=datetime.fromtimestamp(now, timezone.utc),
            second=datetime.fromtimestamp(snap.second, timezone.utc),
            events_per_second=snap.events_per_second,
            events_last_minute=snap.events_last_minute,
            active_players_5m=snap.active_players,
            revenue_last_minute_usd=snap.revenue_last_minute_usd,
            warming_up=not self.caught_up,
        )

    @contextmanager
    def subscribe(self, game_id: str, event_types: frozenset[str] | None) -> Iterator[EventSubscriber]:
        subscriber = EventSubscriber(game_id, event_types, self._buffer)
        self._subscribers.setdefault(game_id, set()).add(subscriber)
        try:
            yield subscriber
        finally:
            peers = self._subscribers[game_id]
            peers.discard(subscriber)
            if not peers:
                del self._subscribers[game_id]

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

"""Retention policies: how many days each store keeps, by default and per game.

    player_events     raw events (and sessions) hot in PostgreSQL, then archived   90 days
    archive           archived days in object storage, then deleted               730 days (2 years)
    rollups           per-minute/hour rollups and per-player daily activity       761 days (25 months)
    dead_letters      system.dlq (a topic: its retention.ms; not per game)          30 days
    notification_log  notification deliveries (they hold addresses)                30 days

Overrides live in ``retention_policies`` (``gamemetrics retention policy set``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import psycopg

from retention.settings import RetentionSettings

STORES = ("player_events", "archive", "rollups", "dead_letters", "notification_log")


@dataclass(frozen=True)
class Policies:
    defaults: dict[str, int]
    overrides: dict[tuple[str, str], int] = field(default_factory=dict)  # (game_id, store) -> days

    @classmethod
    def load(cls, conn: psycopg.Connection, settings: RetentionSettings) -> "Policies":
        defaults = {
            "player_events": settings.events_hot_days, "archive": settings.archive_days,
            "rollups": settings.rollup_days, "dead_letters": settings.dead_letter_days,
            "notification_log": settings.notification_log_days,
        }
        rows = conn.execute("SELECT game_id, store, keep_days FROM retention_policies").fetchall()
        return cls(defaults, {(g, s): d for g, s, d in rows})

    def days(self, store: str, game_id: str | None = None) -> int:
        if game_id is not None and (game_id, store) in self.overrides:
            return self.overrides[(game_id, store)]
        return self.defaults[store]

    def cutoff(self, store: str, today: date, game_id: str | None = None) -> date:
        """The first day still kept: days before it are past the policy."""
        return today - timedelta(days=self.days(store, game_id))

    def shortest(self, store: str) -> int:
        """The fewest days any game keeps ``store`` (the earliest day that may be expired for someone)."""
        return min([self.defaults[store], *(d for (_, s), d in self.overrides.items() if s == store)])

    def overridden_games(self, store: str) -> set[str]:
        return {g for (g, s) in self.overrides if s == store}


def set_policy(conn: psycopg.Connection, game_id: str, store: str, days: int | None) -> None:
    """Set (or with None, remove) one game's override of one store's policy."""
    if store not in STORES:
        raise ValueError(f"unknown store {store!r}; one of {', '.join(STORES)}")
    with conn.transaction():
        if days is None:
            conn.execute("DELETE FROM retention_policies WHERE game_id = %s AND store = %s", (game_id, store))
        else:
            conn.execute(
                "INSERT INTO retention_policies (game_id, store, keep_days) VALUES (%s, %s, %s)"
                " ON CONFLICT (game_id, store) DO UPDATE SET keep_days = excluded.keep_days, updated_at = now()",
                (game_id, store, days),
            )

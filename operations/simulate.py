"""Simulated players: sessions of plausible game telemetry. A seeded ``random.Random`` fixes the
behaviour (players, event mix, values); event and session ids are always fresh UUIDs.

A session is session_start, then a mix of progression, resource, item_acquired, match_result,
achievement, ad_impression and purchase events, then session_end. Rates are rough mobile-game
figures: about 2% of sessions hold a purchase.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

PLATFORMS = ("ios", "android", "windows", "switch")
COUNTRIES = ("US", "DE", "BR", "JP", "FR", "GB", "KR", "IN")
CURRENCIES = (("USD", 0.99), ("EUR", 1.99), ("GBP", 4.99), ("JPY", 480), ("BRL", 9.9))
MODES = ("ranked", "casual", "coop")
MIDDLE_EVENTS = (
    ("progression", 30), ("resource", 25), ("match_result", 15), ("item_acquired", 12),
    ("ad_impression", 10), ("achievement", 4), ("custom.chat_message", 3), ("purchase", 1),
)
SESSION_LENGTH = (8, 40)  # events per session, uniform


@dataclass
class Player:
    player_id: str
    platform: str
    country: str
    app_version: str
    level: int = 1
    session_id: str | None = None
    remaining: int = 0
    session_started_ms: int = 0


@dataclass
class Simulator:
    players: int
    seed: int = 0
    rng: random.Random = field(init=False)
    roster: list[Player] = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.roster = [
            Player(
                f"player-{self.seed}-{i}", self.rng.choice(PLATFORMS), self.rng.choice(COUNTRIES),
                f"1.{self.rng.randint(0, 4)}.{self.rng.randint(0, 9)}",
            )
            for i in range(self.players)
        ]
        self._types = [t for t, _ in MIDDLE_EVENTS]
        self._weights = [w for _, w in MIDDLE_EVENTS]

    @staticmethod
    def _uuid() -> str:
        # ids are never drawn from the seeded generator: two runs with one seed must not
        # resend the same event ids (landing would rightly drop them as duplicates)
        return str(uuid.uuid4())

    def _props(self, event_type: str, player: Player) -> dict[str, Any]:
        rng = self.rng
        if event_type == "progression":
            status = rng.choices(("start", "complete", "fail"), (5, 3, 2))[0]
            if status == "complete":
                player.level += 1
            return {"level": player.level, "status": status}
        if event_type == "resource":
            return {"flow": rng.choice(("source", "sink")), "currency": "gold", "amount": rng.randint(1, 500)}
        if event_type == "match_result":
            return {"mode": rng.choice(MODES), "outcome": rng.choices(("win", "loss", "draw"), (45, 45, 10))[0]}
        if event_type == "item_acquired":
            return {"item_id": f"item-{rng.randint(1, 200)}"}
        if event_type == "achievement":
            return {"achievement_id": f"ach-{rng.randint(1, 50)}"}
        if event_type == "purchase":
            currency, amount = rng.choice(CURRENCIES)
            return {"item_id": f"pack-{rng.randint(1, 12)}", "amount": amount, "currency": currency}
        if event_type == "ad_impression":
            return {"placement": rng.choice(("rewarded", "interstitial"))}
        return {"length": rng.randint(1, 120)}

    def next_events(self, count: int, now_ms: int) -> list[dict[str, Any]]:
        """``count`` consecutive events of one randomly picked player, as a game client sends them."""
        player = self.rng.choice(self.roster)
        events = []
        for i in range(count):
            ts = now_ms - (count - i) * 50
            if player.remaining <= 0:
                if player.session_id is not None:
                    duration = max(1, (ts - player.session_started_ms) // 1000)
                    events.append(self._event(player, "session_end", ts, {"duration_s": duration}))
                    player.session_id = None
                    continue
                player.session_id = self._uuid()
                player.session_started_ms = ts
                player.remaining = self.rng.randint(*SESSION_LENGTH)
                events.append(self._event(player, "session_start", ts, {}))
                continue
            event_type = self.rng.choices(self._types, self._weights)[0]
            events.append(self._event(player, event_type, ts, self._props(event_type, player)))
            player.remaining -= 1
        return events

    def _event(self, player: Player, event_type: str, ts: int, props: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_id": self._uuid(),
            "event_type": event_type,
            "player_id": player.player_id,
            "ts": ts,
            "session_id": player.session_id,
            "platform": player.platform,
            "app_version": player.app_version,
            "country": player.country,
            "properties": props,
        }

"""Simulated players: sessions of plausible game telemetry. A seeded ``random.Random`` fixes the
behaviour (players, event mix, values); event and session ids are always fresh UUIDs.

A session is session_start, then a mix of progression, resource, item_acquired, match_result,
achievement, ad_impression and purchase events, then session_end. Rates are rough mobile-game
figures: about 2% of sessions hold a purchase.

Latent tastes (``Tastes``, for the recommender): players belong to hidden taste groups, each
preferring a few items of the catalogue (and a match mode and some achievements); a player picks
from their group's favourites with probability ``focus``, else from the catalogue's Zipf-like
popularity. ``Simulator(..., tastes=Tastes(...))`` draws the items of item_acquired and purchase
events so; ``simulate_history()`` makes a whole play history at once (numpy, 100k players in
seconds) for offline evaluation and benchmarks. Without ``tastes`` the simulator behaves as before.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
    taste: int | None = None


@dataclass(frozen=True)
class Tastes:
    """Hidden taste groups over a catalogue of ``items`` items named ``item-1`` .. ``item-N``."""

    items: int = 200
    groups: int = 8
    favourites: int = 15  # items each group prefers
    focus: float = 0.7  # share of a player's picks among their group's favourites
    zipf: float = 1.1  # exponent of the catalogue's popularity outside the favourites
    seed: int = 0

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """(favourites: groups x favourites item indices, popularity: probability per item)."""
        rng = np.random.default_rng(self.seed)
        favourites = np.stack([rng.choice(self.items, self.favourites, replace=False) for _ in range(self.groups)])
        ranks = rng.permutation(self.items) + 1
        popularity = 1.0 / ranks ** self.zipf
        return favourites, popularity / popularity.sum()

    @staticmethod
    def item_name(index: int) -> str:
        return f"item-{index + 1}"


@dataclass
class SimulatedHistory:
    """A play history as columns: one row per event (only taste-revealing types), plus each player's
    platform, country and (hidden) taste group."""

    player_ids: np.ndarray  # str, per player
    platforms: np.ndarray  # str, per player
    countries: np.ndarray  # str, per player
    tastes: np.ndarray  # int, per player
    player: np.ndarray  # int index into player_ids, per event
    event_type: np.ndarray  # str: purchase, item_acquired, achievement, match_result
    value: np.ndarray  # str: item id, achievement id or mode
    outcome: np.ndarray  # str: win/loss/draw for matches, "" otherwise
    amount_usd: np.ndarray  # float: price of purchases, 0 otherwise
    ts_ms: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.player)


def simulate_history(players: int, tastes: Tastes, days: float = 60.0, per_player: float = 20.0,
                     now_ms: int = 1_795_000_000_000, seed: int = 0) -> SimulatedHistory:
    """``players`` players' events over the last ``days`` days (about ``per_player`` each, at least 3)."""
    rng = np.random.default_rng(seed)
    favourites, popularity = tastes.tables()
    group = rng.integers(0, tastes.groups, players)
    counts = np.maximum(rng.poisson(per_player, players), 3)
    player = np.repeat(np.arange(players), counts)
    n = len(player)
    g = group[player]
    from_taste = rng.random(n) < tastes.focus
    item = rng.choice(tastes.items, n, p=popularity)
    rank_p = 1.0 / np.arange(1, tastes.favourites + 1)  # a group likes its favourites unequally
    picks = rng.choice(tastes.favourites, int(from_taste.sum()), p=rank_p / rank_p.sum())
    item[from_taste] = favourites[g[from_taste], picks]
    kind = rng.choice(4, n, p=(0.55, 0.15, 0.12, 0.18))  # acquired, purchase, achievement, match
    event_type = np.array(("item_acquired", "purchase", "achievement", "match_result"), dtype=object)[kind]
    value = np.array([Tastes.item_name(i) for i in range(tastes.items)], dtype=object)[item]
    achievements = np.array([f"ach-{a}" for a in range(1, 51)], dtype=object)
    value[kind == 2] = achievements[(g[kind == 2] * 6 + rng.integers(0, 6, int((kind == 2).sum()))) % 50]
    modes = np.array(MODES, dtype=object)
    value[kind == 3] = np.where(rng.random(int((kind == 3).sum())) < 0.7, modes[g[kind == 3] % len(MODES)],
                                modes[rng.integers(0, len(MODES), int((kind == 3).sum()))])
    outcome = np.full(n, "", dtype=object)
    outcome[kind == 3] = np.array(("win", "loss", "draw"), dtype=object)[rng.choice(3, int((kind == 3).sum()), p=(0.45, 0.45, 0.1))]
    prices = np.array([0.99, 1.99, 4.99, 9.99, 19.99])
    amount = np.where(kind == 1, prices[item % len(prices)], 0.0)
    ts = now_ms - (rng.random(n) * days * 86_400_000).astype(np.int64)
    return SimulatedHistory(
        np.array([f"sim-{seed}-{i}" for i in range(players)], dtype=object),
        np.array(PLATFORMS, dtype=object)[rng.integers(0, len(PLATFORMS), players)],
        np.array(COUNTRIES, dtype=object)[rng.integers(0, len(COUNTRIES), players)],
        group, player, event_type, value, outcome, amount, ts,
    )


@dataclass
class Simulator:
    players: int
    seed: int = 0
    tastes: Tastes | None = None
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
        if self.tastes is not None:
            self._favourites, popularity = self.tastes.tables()
            self._popularity = popularity.tolist()
            for player in self.roster:
                player.taste = self.rng.randrange(self.tastes.groups)
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
            return {"item_id": self._item(player) if self.tastes else f"item-{rng.randint(1, 200)}"}
        if event_type == "achievement":
            return {"achievement_id": f"ach-{rng.randint(1, 50)}"}
        if event_type == "purchase":
            currency, amount = rng.choice(CURRENCIES)
            item = self._item(player) if self.tastes else f"pack-{rng.randint(1, 12)}"
            return {"item_id": item, "amount": amount, "currency": currency}
        if event_type == "ad_impression":
            return {"placement": rng.choice(("rewarded", "interstitial"))}
        return {"length": rng.randint(1, 120)}

    def _item(self, player: Player) -> str:
        """An item drawn from the player's taste group (``tastes`` set)."""
        tastes = self.tastes or Tastes()
        if self.rng.random() < tastes.focus:
            favourites = self._favourites[player.taste or 0]
            pick = self.rng.choices(range(len(favourites)), [1.0 / (r + 1) for r in range(len(favourites))])[0]
            return Tastes.item_name(int(favourites[pick]))
        return Tastes.item_name(self.rng.choices(range(tastes.items), self._popularity)[0])

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

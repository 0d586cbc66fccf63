"""Play history -> interactions -> a sparse player x item matrix. Pure: no I/O.

What counts, and how much (``Weights``; an "item" is anything a player can have affinity for, and
its ``kind`` says which; only ``item`` kind is offered in the store):

    event            item id                 kind         weight  owned
    purchase         properties.item_id      item         5.0     yes   (paid: the strongest signal)
    item_acquired    properties.item_id      item         3.0     yes   (earned or granted)
    achievement      ach:<achievement_id>    achievement  2.0     -
    progression      level:<level>           level        1.0 complete, 0.3 fail, start not counted
    match_result     mode:<mode>             mode         1.0 win, 0.7 draw, 0.5 loss
    anything else    -                       -            -

Each interaction's weight decays with age: ``w * 0.5 ** (age_days / half_life_days)`` (30 days by
default, ``GAMEMETRICS_RECOMMENDER_HALF_LIFE_DAYS``); repeated interactions with one item add up.
Owned items (purchased or acquired) are never recommended back.

The matrix is built column-wise (numpy arrays), so 2M interactions take a couple of seconds; the
id maps (row -> player id, column -> item id, and their inverses) are kept beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

MS_PER_DAY = 86_400_000
ITEM = "item"
KINDS = (ITEM, "achievement", "level", "mode")


@dataclass(frozen=True)
class Weights:
    """Base weight of each kind of interaction, before decay (see the module's table)."""

    purchase: float = 5.0
    item_acquired: float = 3.0
    achievement: float = 2.0
    progression_complete: float = 1.0
    progression_fail: float = 0.3
    match_win: float = 1.0
    match_draw: float = 0.7
    match_loss: float = 0.5


DEFAULT_WEIGHTS = Weights()


class Interaction(NamedTuple):
    player_id: str
    item_id: str
    kind: str
    weight: float  # base weight, before decay
    ts_ms: int
    owned: bool
    revenue_usd: float | None = None


def _ms(value: Any) -> int:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else int(value)


def interaction_of(player_id: str, event_type: str, properties: Mapping[str, Any], ts: Any,
                   revenue_usd: float | None = None, weights: Weights = DEFAULT_WEIGHTS) -> Interaction | None:
    """The interaction one event makes, or None when the event says nothing about taste."""
    ts_ms = _ms(ts)
    if event_type == "purchase" or event_type == "item_acquired":
        item = properties.get("item_id")
        if item is None or item == "":
            return None
        weight = weights.purchase if event_type == "purchase" else weights.item_acquired
        revenue = float(revenue_usd) if revenue_usd is not None else None
        return Interaction(player_id, str(item), ITEM, weight, ts_ms, True, revenue)
    if event_type == "achievement":
        achievement = properties.get("achievement_id")
        return None if achievement is None else Interaction(player_id, f"ach:{achievement}", "achievement",
                                                            weights.achievement, ts_ms, False)
    if event_type == "progression":
        status, level = properties.get("status"), properties.get("level")
        if level is None or status not in ("complete", "fail"):
            return None
        weight = weights.progression_complete if status == "complete" else weights.progression_fail
        return Interaction(player_id, f"level:{level}", "level", weight, ts_ms, False)
    if event_type == "match_result":
        mode, outcome = properties.get("mode"), properties.get("outcome")
        weight = {"win": weights.match_win, "draw": weights.match_draw, "loss": weights.match_loss}.get(outcome)
        if mode is None or weight is None:
            return None
        return Interaction(player_id, f"mode:{mode}", "mode", weight, ts_ms, False)
    return None


def from_processed_batch(batch: Mapping[str, Any], weights: Weights = DEFAULT_WEIGHTS) -> list[Interaction]:
    """The interactions of one ``ProcessedEventBatch`` (decoded with or without logical types)."""
    found = []
    for processed in batch["events"]:
        event = processed["event"]
        made = interaction_of(event["player_id"], event["event_type"], event.get("properties") or {},
                              event["event_time"], processed.get("revenue_usd"), weights)
        if made is not None:
            found.append(made)
    return found


def from_rows(rows: Iterable[tuple[str, str, Mapping[str, Any], Any, Any]],
              weights: Weights = DEFAULT_WEIGHTS) -> list[Interaction]:
    """Interactions of ``player_events`` rows ``(player_id, event_type, properties, event_time, revenue_usd)``."""
    found = []
    for player_id, event_type, properties, event_time, revenue in rows:
        made = interaction_of(player_id, event_type, properties or {}, event_time,
                              None if revenue is None else float(revenue), weights)
        if made is not None:
            found.append(made)
    return found


def decay(weights: np.ndarray, ts_ms: np.ndarray, as_of_ms: int, half_life_days: float) -> np.ndarray:
    """``weights`` halved for every ``half_life_days`` of age at ``as_of_ms`` (future events: no decay)."""
    age_days = np.maximum(as_of_ms - ts_ms.astype(np.int64), 0) / MS_PER_DAY
    return (weights * np.exp2(-age_days / half_life_days)).astype(np.float32)


@dataclass(frozen=True)
class Columns:
    """Interactions as columns: what the matrix is built from (``columns()`` turns a list into them)."""

    player: np.ndarray  # str
    item: np.ndarray  # str
    kind: np.ndarray  # str
    weight: np.ndarray  # float, before decay
    ts_ms: np.ndarray  # int64
    owned: np.ndarray  # bool
    revenue_usd: np.ndarray = field(default_factory=lambda: np.zeros(0))  # float, NaN = none

    def __len__(self) -> int:
        return len(self.player)

    def where(self, mask: np.ndarray) -> Columns:
        revenue = self.revenue_usd[mask] if len(self.revenue_usd) == len(self.player) else self.revenue_usd
        return Columns(self.player[mask], self.item[mask], self.kind[mask], self.weight[mask], self.ts_ms[mask],
                       self.owned[mask], revenue)


def columns(interactions: list[Interaction]) -> Columns:
    if not interactions:
        empty = np.array([], dtype=object)
        return Columns(empty, empty, empty, np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool),
                       np.zeros(0))
    player, item, kind, weight, ts, owned, revenue = zip(*interactions, strict=True)
    return Columns(
        np.array(player, dtype=object), np.array(item, dtype=object), np.array(kind, dtype=object),
        np.array(weight, dtype=np.float64), np.array(ts, dtype=np.int64), np.array(owned, dtype=bool),
        np.array([np.nan if r is None else r for r in revenue], dtype=np.float64),
    )


@dataclass(frozen=True)
class InteractionMatrix:
    """Players x items: decayed weights summed (``weights``) and what each player owns (``owned``)."""

    weights: sp.csr_matrix
    owned: sp.csr_matrix
    player_ids: np.ndarray
    item_ids: np.ndarray
    item_kinds: np.ndarray
    player_index: dict[str, int]
    item_index: dict[str, int]
    as_of_ms: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.weights.shape

    def row_of(self, player_id: str) -> dict[str, float]:
        """One player's decayed weights by item id (empty for an unknown player)."""
        row = self.player_index.get(player_id)
        if row is None:
            return {}
        start, end = self.weights.indptr[row], self.weights.indptr[row + 1]
        return {self.item_ids[j]: float(w) for j, w in zip(self.weights.indices[start:end], self.weights.data[start:end])}

    def owned_by(self, player_id: str) -> list[str]:
        row = self.player_index.get(player_id)
        if row is None:
            return []
        start, end = self.owned.indptr[row], self.owned.indptr[row + 1]
        return [self.item_ids[j] for j in self.owned.indices[start:end]]


def build_matrix(cols: Columns, as_of_ms: int, half_life_days: float,
                 item_ids: np.ndarray | None = None) -> InteractionMatrix:
    """The player x item matrix of ``cols`` at ``as_of_ms``. ``item_ids`` fixes the columns (then
    interactions with other items are dropped), else they are every item seen, sorted."""
    players, rows = np.unique(cols.player, return_inverse=True)
    if item_ids is None:
        items, columns_ = np.unique(cols.item, return_inverse=True)
        keep = np.ones(len(cols), dtype=bool)
    else:
        items = np.asarray(item_ids, dtype=object)
        index = {item: j for j, item in enumerate(items)}
        columns_ = np.fromiter((index.get(i, -1) for i in cols.item), dtype=np.int64, count=len(cols))
        keep = columns_ >= 0
    kinds = np.full(len(items), ITEM, dtype=object)
    kinds[columns_[keep]] = cols.kind[keep]
    shape = (len(players), len(items))
    decayed = decay(cols.weight[keep], cols.ts_ms[keep], as_of_ms, half_life_days)
    weights = sp.csr_matrix((decayed, (rows[keep], columns_[keep])), shape=shape, dtype=np.float32)
    weights.sum_duplicates()
    owned_mask = keep & cols.owned
    owned = sp.csr_matrix((np.ones(int(owned_mask.sum()), dtype=np.float32), (rows[owned_mask], columns_[owned_mask])),
                          shape=shape)
    owned.sum_duplicates()
    owned.data[:] = 1.0
    return InteractionMatrix(
        weights, owned, players, items, kinds,
        {p: i for i, p in enumerate(players)}, {t: j for j, t in enumerate(items)}, as_of_ms,
    )

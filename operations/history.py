"""A simulated play history (``operations.simulate.simulate_history``) as the recommender's
interaction columns and segments: the bridge the offline evaluation and the benchmark use (the
recommender itself never imports the simulator, which sits above it)."""

from __future__ import annotations

import numpy as np

from operations.simulate import SimulatedHistory
from recommender.interactions import DEFAULT_WEIGHTS, ITEM, Columns, Weights


def history_columns(history: SimulatedHistory, weights: Weights = DEFAULT_WEIGHTS) -> Columns:
    """The interactions of every event of ``history``, with the weights of ``recommender.interactions``."""
    et, outcome = history.event_type, history.outcome
    n = len(history)
    weight = np.zeros(n)
    kind = np.full(n, ITEM, dtype=object)
    item = history.value.copy()
    weight[et == "purchase"] = weights.purchase
    weight[et == "item_acquired"] = weights.item_acquired
    ach = et == "achievement"
    weight[ach] = weights.achievement
    kind[ach] = "achievement"
    item[ach] = np.char.add("ach:", history.value[ach].astype(str)).astype(object)
    match = et == "match_result"
    weight[match & (outcome == "win")] = weights.match_win
    weight[match & (outcome == "draw")] = weights.match_draw
    weight[match & (outcome == "loss")] = weights.match_loss
    kind[match] = "mode"
    item[match] = np.char.add("mode:", history.value[match].astype(str)).astype(object)
    owned = (et == "purchase") | (et == "item_acquired")
    revenue = np.where(et == "purchase", history.amount_usd, np.nan)
    return Columns(history.player_ids[history.player], item, kind, weight, history.ts_ms.astype(np.int64), owned, revenue)


def history_segments(history: SimulatedHistory) -> dict[str, tuple[str, str]]:
    """Each simulated player's (platform, country)."""
    return {p: (pl, c) for p, pl, c in zip(history.player_ids, history.platforms, history.countries, strict=True)}

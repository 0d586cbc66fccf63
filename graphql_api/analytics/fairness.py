"""``fairness``: win, loss and draw ratios per mode, from ``match_outcomes_hourly``."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from graphql_api.ranges import time_range
from graphql_api.database import Database
from graphql_api.types import Fairness, ModeOutcomes
from store.rollups import MATCH_OUTCOMES


def mode_outcomes(mode: str, counts: dict[str, int]) -> ModeOutcomes:
    """Rates of one mode over all its results. Pure."""
    total = sum(counts.values())
    wins, losses, draws = counts.get("win", 0), counts.get("loss", 0), counts.get("draw", 0)
    return ModeOutcomes(mode=mode, matches=total, wins=wins, losses=losses, draws=draws,
                        win_rate=wins / total if total else 0.0, loss_rate=losses / total if total else 0.0,
                        draw_rate=draws / total if total else 0.0)


async def fairness(db: Database, game_id: str, start: datetime, end: datetime) -> Fairness:
    r = time_range(start, end, "fairness")
    rows = await db.fetch(
        f"SELECT mode, outcome, sum(matches)::bigint FROM {MATCH_OUTCOMES.table} "
        "WHERE game_id = %s AND bucket >= %s AND bucket < %s GROUP BY 1, 2",
        (game_id, r.start, r.end),
    )
    per_mode: dict[str, dict[str, int]] = defaultdict(dict)
    for mode, outcome, matches in rows:
        per_mode[mode][outcome] = int(matches)
    modes = sorted((mode_outcomes(mode, counts) for mode, counts in per_mode.items()), key=lambda m: (-m.matches, m.mode))
    return Fairness(game_id=game_id, start=r.start, end=r.end, modes=modes)

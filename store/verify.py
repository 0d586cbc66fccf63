"""Check that every rollup table equals a GROUP BY over ``player_events``, and that no event is
stored twice.

The processors maintain the rollups (declared in ``store/rollups.py``) incrementally; this
recomputes each from the raw events, by the aggregates its declaration names, and lists the
differences: every key column and every measure that a plain aggregate can recompute. Used by
the tests and by ``gamemetrics verify`` (an operator's check after an incident). It scans
player_events: run it off-peak on big tables.
"""

from __future__ import annotations

from datetime import timezone

import psycopg

from store.rollups import ROLLUPS, verify_sql

# table -> (its rows, the same rows by a GROUP BY over player_events), rendered from store/rollups.py
CHECKS: dict[str, tuple[str, str]] = {r.table: verify_sql(r) for r in ROLLUPS}
MAX_REPORTED = 5


# player_events has no unique key (migration 0006): landing stores an event once by its dedup key
# (event id, the client's own ts; event_keys), which this check holds the rows to.
DUPLICATES_SQL = (
    "SELECT event_id, client_ts, count(*) FROM player_events GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 3 DESC, 1"
)


def rollup_differences(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Table -> a few rows that differ (``only in rollup`` / ``only in GROUP BY``), and under
    ``player_events`` a few events stored more than once (same event id and client ts); empty when
    all is well."""
    problems: dict[str, list[str]] = {}
    duplicates = conn.execute(DUPLICATES_SQL).fetchmany(MAX_REPORTED)
    if duplicates:
        problems["player_events"] = [f"stored {n} times: event {e} (client ts {t.astimezone(timezone.utc).isoformat()})"
                                     for e, t, n in duplicates]
    for table, (rollup_sql, truth_sql) in CHECKS.items():
        only_rollup = conn.execute(f"({rollup_sql}) EXCEPT ({truth_sql})").fetchmany(MAX_REPORTED)
        only_truth = conn.execute(f"({truth_sql}) EXCEPT ({rollup_sql})").fetchmany(MAX_REPORTED)
        if only_rollup or only_truth:
            problems[table] = [f"only in {table}: {r}" for r in only_rollup] + [f"only in GROUP BY: {r}" for r in only_truth]
    return problems

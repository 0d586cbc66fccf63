"""Check that every rollup table equals a GROUP BY over ``player_events``, and that no event is
stored twice.

The processors maintain the rollups incrementally; this recomputes them from the raw events and
lists the differences. Used by the tests and by ``gamemetrics verify`` (an operator's check after
an incident). It scans player_events: run it off-peak on big tables.
"""

from __future__ import annotations

from datetime import timezone

import psycopg

UTC_MINUTE = "date_trunc('minute', event_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
UTC_HOUR = "date_trunc('hour', event_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
UTC_DAY = "(event_time AT TIME ZONE 'UTC')::date"

CHECKS: dict[str, tuple[str, str]] = {
    "event_rollup_minute": (
        "SELECT game_id, bucket, event_type, events, unique_players, revenue_usd FROM event_rollup_minute",
        f"SELECT game_id, {UTC_MINUTE}, event_type, count(*), count(DISTINCT player_id), coalesce(sum(revenue_usd), 0) "
        "FROM player_events GROUP BY 1, 2, 3",
    ),
    "player_daily_activity": (
        "SELECT game_id, day, player_id, events, sessions, revenue_usd FROM player_daily_activity",
        f"SELECT game_id, {UTC_DAY}, player_id, count(*), count(*) FILTER (WHERE event_type = 'session_start'), "
        "coalesce(sum(revenue_usd), 0) FROM player_events GROUP BY 1, 2, 3",
    ),
    "players": (
        "SELECT game_id, player_id, first_seen, last_seen, events, sessions, lifetime_revenue_usd, purchases FROM players",
        "SELECT game_id, player_id, min(event_time), max(event_time), count(*), "
        "count(*) FILTER (WHERE event_type = 'session_start'), coalesce(sum(revenue_usd), 0), "
        "count(*) FILTER (WHERE event_type = 'purchase') FROM player_events GROUP BY 1, 2",
    ),
    "sessions": (
        "SELECT game_id, session_id, started_at, last_event_at, events FROM sessions",
        "SELECT game_id, session_id, min(event_time), max(event_time), count(*) FROM player_events "
        "WHERE session_id IS NOT NULL GROUP BY 1, 2",
    ),
    "match_outcomes_hourly": (
        "SELECT game_id, bucket, mode, outcome, matches FROM match_outcomes_hourly",
        f"SELECT game_id, {UTC_HOUR}, properties->>'mode', properties->>'outcome', count(*) FROM player_events "
        "WHERE event_type = 'match_result' GROUP BY 1, 2, 3, 4",
    ),
}
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

"""Data sets written straight into the tables of an isolated schema.

``FIXED``: a small hand-made data set whose every metric is worked out by hand in the tests
(``test_schema.py`` states each expectation next to its arithmetic). Two games: ``g-alpha``
holds the data, ``g-beta`` holds rows on the same days that must never leak into alpha's answers.
BASE is a Monday, so ISO weeks start on it.

``insert_history``: a month of plausible activity for the dashboard (seeded, relative to today).

``analyze``: planner statistics for the tables just filled, as autovacuum gathers them in a
running deployment. Without them a query right after a bulk insert is planned on empty-table
estimates: the dashboard's funnel took 198 s on a fresh month of history, 0.06 s once analyzed
(measured on the shared 2-core machine under load).
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, datetime, time, timedelta, timezone

import psycopg

ALPHA, BETA = "g-alpha", "g-beta"
BASE = date(2026, 9, 7)  # a Monday
assert BASE.weekday() == 0


def at(day: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """BASE + ``day`` days at hh:mm:ss UTC."""
    return datetime.combine(BASE + timedelta(days=day), time(hh, mm, ss), tzinfo=timezone.utc)


def d(day: int) -> date:
    return BASE + timedelta(days=day)


FILLED_TABLES = ("player_events", "players", "player_daily_activity", "sessions", "event_rollup_minute",
                 "match_outcomes_hourly")


def analyze(conn: psycopg.Connection) -> None:
    """ANALYZE the data sets' tables of the connection's schema (never the whole shared database)."""
    for table in FILLED_TABLES:
        conn.execute(f"ANALYZE {table}")


def _event(conn: psycopg.Connection, game: str, player: str, event_type: str, t: datetime,
           properties: dict | None = None, revenue: float | None = None, session: str | None = None) -> str:
    event_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO player_events (event_id, event_time, game_id, player_id, event_type, client_ts, received_at, "
        "session_id, platform, country, properties, batch_id, revenue_usd) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'android', 'FI', %s, %s, %s)",
        (event_id, t, game, player, event_type, t, t + timedelta(seconds=1), session, json.dumps(properties or {}),
         str(uuid.uuid4()), revenue),
    )
    return event_id


def insert_fixed(conn: psycopg.Connection) -> None:
    now_minute = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    conn.execute("INSERT INTO games (game_id, name) VALUES (%s, 'Alpha Quest'), (%s, 'Beta Racer')", (ALPHA, BETA))

    # event_rollup_minute
    rollup = [
        (ALPHA, at(0, 10, 0), "session_start", 3, 3, 0),
        (ALPHA, at(0, 10, 1), "purchase", 2, 2, 5.98),
        (ALPHA, at(0, 10, 30), "progression", 4, 2, 0),
        (ALPHA, at(0, 11, 15), "session_start", 1, 1, 0),
        (ALPHA, at(1, 9, 0), "session_start", 5, 5, 0),
        (ALPHA, now_minute, "custom.recent", 7, 1, 0),
        (BETA, at(0, 10, 0), "session_start", 100, 50, 0),
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO event_rollup_minute (game_id, bucket, event_type, events, unique_players, revenue_usd) "
            "VALUES (%s, %s, %s, %s, %s, %s)", rollup,
        )

    # players: first seen
    players = [
        (ALPHA, "p1", at(0, 10, 0), at(7, 12), 5, 2, 4.99, 1),
        (ALPHA, "p2", at(0, 10, 5), at(2, 10), 4, 1, 10.0, 1),
        (ALPHA, "p3", at(0, 11, 15), at(0, 11, 18), 3, 1, 0, 0),
        (ALPHA, "p4", at(1, 9, 0), at(8, 9), 3, 1, 0, 0),
        (ALPHA, "p5", at(7, 12, 0), at(7, 12), 1, 1, 0.99, 1),
        (ALPHA, "p6", at(30, 8, 0), at(30, 8), 1, 1, 0, 0),
        (ALPHA, "p7", datetime.combine(yesterday, time(12), tzinfo=timezone.utc),
         datetime.combine(yesterday, time(12), tzinfo=timezone.utc), 1, 1, 0, 0),
        (BETA, "b1", at(0, 10, 0), at(1, 10), 9, 2, 50.0, 3),
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO players (game_id, player_id, first_seen, last_seen, events, sessions, lifetime_revenue_usd, "
            "purchases, platform, country, app_version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'android', 'FI', '2.3.1')",
            players,
        )

    # player_daily_activity: who was active which day, and their revenue
    activity = [
        (ALPHA, d(0), "p1", 3, 1, 4.99), (ALPHA, d(1), "p1", 1, 1, 0), (ALPHA, d(7), "p1", 1, 1, 0),
        (ALPHA, d(0), "p2", 2, 1, 0), (ALPHA, d(1), "p2", 2, 1, 10.0),
        (ALPHA, d(0), "p3", 3, 1, 0),
        (ALPHA, d(1), "p4", 1, 1, 0), (ALPHA, d(2), "p4", 1, 1, 0), (ALPHA, d(8), "p4", 1, 1, 0),
        (ALPHA, d(7), "p5", 1, 1, 0.99),
        (ALPHA, d(30), "p6", 1, 1, 0),
        (BETA, d(0), "b1", 9, 2, 50.0), (BETA, d(1), "b1", 1, 1, 0),
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO player_daily_activity (game_id, day, player_id, events, sessions, revenue_usd) "
            "VALUES (%s, %s, %s, %s, %s, %s)", activity,
        )

    # sessions
    sessions = [
        (ALPHA, "s0", "p9", at(-1, 23, 50), at(0, 0, 10), at(0, 0, 10), 1200.0),
        (ALPHA, "s1", "p1", at(0, 10, 0), at(0, 10, 20), at(0, 10, 20), 1200.0),
        (ALPHA, "s2", "p2", at(0, 10, 5), at(0, 10, 35), None, None),
        (ALPHA, "s3", "p3", at(0, 11, 15), at(0, 11, 20), at(0, 11, 20), 300.0),
        (ALPHA, "s4", "p1", at(0, 13, 0), at(0, 13, 10), at(0, 13, 10), 600.0),
        (ALPHA, "s5", "p4", at(1, 9, 0), at(1, 9, 30), at(1, 9, 30), 1800.0),
        (BETA, "sb", "b1", at(0, 10, 0), at(0, 12, 0), at(0, 12, 0), 7200.0),
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO sessions (game_id, session_id, player_id, started_at, last_event_at, ended_at, duration_s, events) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, 1)", sessions,
        )

    # match_outcomes_hourly
    matches = [
        (ALPHA, at(0, 10), "ranked", "win", 6), (ALPHA, at(0, 10), "ranked", "loss", 3), (ALPHA, at(0, 10), "ranked", "draw", 1),
        (ALPHA, at(0, 11), "casual", "win", 2), (ALPHA, at(0, 11), "casual", "loss", 2),
        (ALPHA, at(1, 10), "ranked", "win", 100),
        (BETA, at(0, 10), "ranked", "loss", 40),
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO match_outcomes_hourly (game_id, bucket, mode, outcome, matches) VALUES (%s, %s, %s, %s, %s)", matches,
        )

    # raw events for the funnel and the player's events
    level1 = {"level": 1, "status": "complete"}
    _event(conn, ALPHA, "p1", "session_start", at(0, 10, 0), session="s1")
    _event(conn, ALPHA, "p1", "progression", at(0, 10, 5), level1, session="s1")
    _event(conn, ALPHA, "p1", "purchase", at(0, 10, 10), {"item_id": "gems", "amount": 4.99, "currency": "USD"}, 4.99, "s1")
    _event(conn, ALPHA, "p2", "session_start", at(0, 10, 5), session="s2")
    _event(conn, ALPHA, "p2", "progression", at(0, 10, 20), level1, session="s2")
    _event(conn, ALPHA, "p2", "purchase", at(2, 10, 0), {"item_id": "gems", "amount": 10, "currency": "USD"}, 10.0)
    _event(conn, ALPHA, "p3", "session_start", at(0, 11, 15), session="s3")
    _event(conn, ALPHA, "p3", "purchase", at(0, 11, 16), {"item_id": "skin", "amount": 0, "currency": "USD"}, 0.0, "s3")
    _event(conn, ALPHA, "p3", "progression", at(0, 11, 18), {"level": 2, "status": "complete"}, session="s3")
    _event(conn, ALPHA, "p4", "progression", at(0, 8, 0), level1)
    _event(conn, ALPHA, "p4", "session_start", at(1, 9, 0), session="s5")
    _event(conn, BETA, "b1", "session_start", at(0, 10, 0))
    _event(conn, BETA, "b1", "progression", at(0, 10, 1), level1)
    _event(conn, BETA, "b1", "purchase", at(0, 10, 2), {"item_id": "car", "amount": 50, "currency": "USD"}, 50.0)


def insert_history(conn: psycopg.Connection, game_id: str, days: int = 30, seed: int = 7) -> None:
    """A month of activity for ``game_id`` ending yesterday: cohorts that decay, purchases, matches, sessions."""
    rng = random.Random(seed)
    today = datetime.now(timezone.utc).date()
    activity: dict[tuple[date, str], list[float]] = {}
    first_seen: dict[str, datetime] = {}
    session_rows = []
    raw = []
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        newcomers = int(60 + 25 * (1 + (offset % 7 in (1, 2))) + rng.randint(-8, 8))
        for i in range(newcomers):
            player = f"h{day:%m%d}-{i}"
            first_seen[player] = datetime.combine(day, time(rng.randint(0, 23), rng.randint(0, 59)), tzinfo=timezone.utc)
            payer = rng.random() < 0.06
            for later in range(0, offset):
                keep = 1.0 if later == 0 else 0.45 * (0.93 ** later) + 0.04
                if later and rng.random() > keep:
                    continue
                active_day = day + timedelta(days=later)
                revenue = round(rng.choice([0.99, 2.99, 4.99, 9.99, 19.99]), 2) if payer and rng.random() < 0.3 else 0.0
                activity[(active_day, player)] = [rng.randint(5, 60), 1, revenue]
                start = datetime.combine(active_day, time(rng.randint(0, 23), rng.randint(0, 59)), tzinfo=timezone.utc)
                if later == 0:
                    start = max(start, first_seen[player])
                length = rng.lognormvariate(6.4, 0.7)
                session_id = f"{player}-{later}"
                session_rows.append((game_id, session_id, player, start, start + timedelta(seconds=length),
                                     start + timedelta(seconds=length), length))
                raw.append((player, "session_start", start, {}, None, session_id))
                if rng.random() < 0.7:
                    raw.append((player, "progression", start + timedelta(seconds=length * 0.3),
                                {"level": 1, "status": "complete"}, None, session_id))
                if revenue:
                    raw.append((player, "purchase", start + timedelta(seconds=length * 0.6),
                                {"item_id": "gems", "amount": revenue, "currency": "USD"}, revenue, session_id))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO players (game_id, player_id, first_seen, last_seen, events, sessions, lifetime_revenue_usd, purchases) "
            "VALUES (%s, %s, %s, %s, 10, 1, 0, 0)",
            [(game_id, p, t, t) for p, t in first_seen.items()],
        )
        cur.executemany(
            "INSERT INTO player_daily_activity (game_id, day, player_id, events, sessions, revenue_usd) VALUES (%s, %s, %s, %s, %s, %s)",
            [(game_id, day, p, *v) for (day, p), v in activity.items()],
        )
        cur.executemany(
            "INSERT INTO sessions (game_id, session_id, player_id, started_at, last_event_at, ended_at, duration_s, events) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, 5)", session_rows,
        )
        cur.executemany(
            "INSERT INTO player_events (event_id, event_time, game_id, player_id, event_type, client_ts, received_at, "
            "session_id, properties, batch_id, revenue_usd) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(str(uuid.uuid4()), t, game_id, p, kind, t, t, s, json.dumps(props), str(uuid.uuid4()), rev)
             for p, kind, t, props, rev, s in raw],
        )
        per_day: dict[date, int] = {}
        for (day, _), v in activity.items():
            per_day[day] = per_day.get(day, 0) + v[0]
        minutes = []
        for day, events in per_day.items():
            for hour in range(24):
                weight = 0.6 + 0.8 * (hour in range(17, 23))
                minutes.append((game_id, datetime.combine(day, time(hour), tzinfo=timezone.utc), "session_start",
                                int(events * weight / 24), 1, 0))
        cur.executemany(
            "INSERT INTO event_rollup_minute (game_id, bucket, event_type, events, unique_players, revenue_usd) "
            "VALUES (%s, %s, %s, %s, %s, %s)", minutes,
        )
        outcomes = []
        for offset in range(days, 0, -1):
            bucket = datetime.combine(today - timedelta(days=offset), time(20), tzinfo=timezone.utc)
            for mode, (win, draw, loss) in {"ranked": (48, 4, 48), "casual": (52, 6, 42), "arena": (41, 3, 56),
                                            "co-op": (63, 0, 37)}.items():
                for outcome, n in (("win", win), ("draw", draw), ("loss", loss)):
                    outcomes.append((game_id, bucket, mode, outcome, n + rng.randint(0, 5)))
        cur.executemany(
            "INSERT INTO match_outcomes_hourly (game_id, bucket, mode, outcome, matches) VALUES (%s, %s, %s, %s, %s)", outcomes,
        )

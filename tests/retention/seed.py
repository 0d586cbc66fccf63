"""Rows of player_events written straight into the store, on any day (landing refuses old days)."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from store.partitions import PartitionWindow, ensure_partitions

COLUMNS = ("event_id, event_time, game_id, player_id, event_type, client_ts, received_at, session_id, platform,"
           " app_version, country, properties, batch_id, landed_at, session_seq, is_new_player, revenue_usd, delay_ms")


def partitions_around(conn: psycopg.Connection, day: date, days_back: int, days_ahead: int) -> None:
    ensure_partitions(conn, today=day, window=PartitionWindow(days_back=days_back, days_ahead=days_ahead))


def seed_day(conn: psycopg.Connection, game_id: str, day: date, players: list[str], per_player: int) -> int:
    """``per_player`` events for each player on ``day``, with every column filled in some rows and NULL in others."""
    rows = 0
    with conn.transaction():
        for player in players:
            conn.execute(
                f"""
                INSERT INTO player_events ({COLUMNS})
                SELECT gen_random_uuid(), %(day)s::timestamptz + (i * interval '37 seconds') + interval '123456 microseconds',
                       %(game)s, %(player)s, CASE WHEN i %% 5 = 0 THEN 'purchase' ELSE 'level_up' END,
                       %(day)s::timestamptz + i * interval '37 seconds', %(day)s::timestamptz + i * interval '38 seconds',
                       CASE WHEN i %% 3 = 0 THEN NULL ELSE 's-' || %(player)s END,
                       CASE WHEN i %% 2 = 0 THEN 'ios' ELSE NULL END, '1.2.3', 'DE',
                       jsonb_build_object('level', i, 'note', 'a "quoted", line' || E'\\n' || 'break', 'ok', i %% 2 = 0),
                       gen_random_uuid(), %(day)s::timestamptz + interval '1 hour', i,
                       i = 0, CASE WHEN i %% 5 = 0 THEN (i * 1.25)::numeric(18, 6) ELSE NULL END, i * 10
                FROM generate_series(0, %(n)s - 1) AS i
                """,
                {"day": day, "game": game_id, "player": player, "n": per_player},
            )
            rows += per_player
    return rows


def all_rows(conn: psycopg.Connection, where: str = "true", params: tuple = ()) -> list[tuple]:
    return conn.execute(f"SELECT {COLUMNS} FROM player_events WHERE {where} ORDER BY event_id", params).fetchall()


def days_ago(today: date, n: int) -> date:
    return today - timedelta(days=n)

"""The archive manifest: which Parquet object holds which (game, day), verified how.

A (game, day) can have several parts: a big day is split into ``buckets`` objects by player
(``retention.parquet.BUCKET_SQL``), so an erase or an export opens only its player's bucket; and
later archives hold events that landed for that day after it was dropped. Each part's ``state``:

    archived  written and verified; its rows are still in PostgreSQL (the drop comes next)
    dropped   its rows are gone from PostgreSQL; the object is the only copy
    restored  brought back by ``archive restore``; the next pass drops the rows again (no re-upload)
    expired   past the archive policy; the object is deleted, the row kept as a record

Only objects named here are real: a query or restore never globs the bucket, so an object left
by a killed pass (uploaded, not yet recorded) is invisible and the rerun overwrites it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg

from retention.rows import Checksum


def object_key(game_id: str, day: date, part: int) -> str:
    return f"events/game_id={game_id}/date={day:%Y-%m-%d}/part-{part:04d}.parquet"


@dataclass(frozen=True)
class Part:
    game_id: str
    day: date
    part: int
    object_key: str
    rows: int
    checksum: int
    bytes: int
    state: str
    archived_at: datetime
    bucket: int = 0
    buckets: int = 1

    @property
    def sums(self) -> Checksum:
        return Checksum(self.rows, self.checksum)


_COLUMNS = "game_id, day, part, object_key, rows, checksum, bytes, state, archived_at, bucket, buckets"


def _part(row: tuple) -> Part:
    g, d, p, k, rows, checksum, size, state, at, bucket, buckets = row
    return Part(g, d, p, k, int(rows), int(checksum), int(size), state, at, bucket, buckets)


def parts_of(conn: psycopg.Connection, game_id: str, day: date) -> list[Part]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM archive_manifest WHERE game_id = %s AND day = %s ORDER BY part",
                        (game_id, day)).fetchall()
    return [_part(r) for r in rows]


def parts_between(conn: psycopg.Connection, game_id: str | None, lo: date, hi: date,
                  states: tuple[str, ...] = ("archived", "dropped", "restored")) -> list[Part]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM archive_manifest WHERE (%s::text IS NULL OR game_id = %s) AND day BETWEEN %s AND %s"
        " AND state = ANY(%s) ORDER BY game_id, day, part",
        (game_id, game_id, lo, hi, list(states)),
    ).fetchall()
    return [_part(r) for r in rows]


def parts_in_states(conn: psycopg.Connection, states: tuple[str, ...]) -> list[Part]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM archive_manifest WHERE state = ANY(%s) ORDER BY game_id, day, part",
                        (list(states),)).fetchall()
    return [_part(r) for r in rows]


def recently_restored(conn: psycopg.Connection, game_id: str, day: date, keep_days: int) -> bool:
    """True when a part of (game, day) was restored less than ``keep_days`` ago (the pass leaves it)."""
    row = conn.execute(
        "SELECT 1 FROM archive_manifest WHERE game_id = %s AND day = %s AND state = 'restored'"
        " AND restored_at > now() - make_interval(days => %s)", (game_id, day, keep_days)).fetchone()
    return row is not None


def buckets_for(rows: int, per_bucket: int) -> int:
    """How many objects a day of ``rows`` is split into: a power of two near rows / per_bucket, 1 to 64."""
    buckets = 1
    while buckets < 64 and rows >= 2 * buckets * per_bucket:
        buckets *= 2
    return buckets


def next_part(conn: psycopg.Connection, game_id: str, day: date) -> int:
    row = conn.execute("SELECT coalesce(max(part) + 1, 0) FROM archive_manifest WHERE game_id = %s AND day = %s",
                       (game_id, day)).fetchone()
    return int(row[0])


def record_parts(conn: psycopg.Connection, parts: list[Part], superseded: list[Part]) -> None:
    """Record verified parts (the buckets of one archive); the parts they supersede (whose rows they also
    hold) leave the manifest."""
    with conn.transaction():
        for part in parts:
            conn.execute(
                "INSERT INTO archive_manifest (game_id, day, part, object_key, rows, checksum, bytes, state, bucket,"
                " buckets) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (part.game_id, part.day, part.part, part.object_key, part.rows, part.checksum, part.bytes, part.state,
                 part.bucket, part.buckets),
            )
        for old in superseded:
            conn.execute("DELETE FROM archive_manifest WHERE game_id = %s AND day = %s AND part = %s",
                         (old.game_id, old.day, old.part))


def set_state(conn: psycopg.Connection, parts: list[Part], state: str) -> None:
    stamp = {"dropped": ", dropped_at = now()", "expired": ", dropped_at = coalesce(dropped_at, now())",
             "restored": ", restored_at = now()"}.get(state, "")
    for p in parts:
        conn.execute(f"UPDATE archive_manifest SET state = %s{stamp} WHERE game_id = %s AND day = %s AND part = %s",
                     (state, p.game_id, p.day, p.part))


def rewrite_part(conn: psycopg.Connection, part: Part, sums: Checksum, size: int) -> None:
    conn.execute(
        "UPDATE archive_manifest SET rows = %s, checksum = %s, bytes = %s, rewritten_at = now()"
        " WHERE game_id = %s AND day = %s AND part = %s",
        (sums.rows, sums.checksum, size, part.game_id, part.day, part.part),
    )

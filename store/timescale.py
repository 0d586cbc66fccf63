"""TimescaleDB chunks of ``player_events``: list, compress, drop. Used by :mod:`store.partitions`
(the backend-agnostic interface the retention pass calls) and by the benchmarks.

Compression is driven by our own retention pass calling ``compress_chunk`` chunk by chunk, not by
TimescaleDB's background scheduler (``add_compression_policy``): on PostgreSQL 15.20 every
scheduler job is recorded as failed after it did its work (see the bundle's README), and one pass
of ours that compresses then drops keeps the order of the two under our control.

A late event whose chunk is already compressed is still accepted (TimescaleDB writes it beside
the compressed rows; player_events has no unique key to check against them since migration 0006:
landing's dedup keeps a replayed copy out); the chunk is then "partially compressed" and the next
:func:`compress_chunks_before` compresses it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import psycopg
from psycopg import sql

from store.backend import extension_schema
from store.errors import StoreError

# _timescaledb_catalog.chunk.status bits (ts_chunk_status in upstream's src/chunk.h)
_STATUS_COMPRESSED = 1
_STATUS_PARTIAL = 8


@dataclass(frozen=True)
class Chunk:
    name: str  # schema-qualified, quoted: usable as a regclass literal
    range_start: datetime
    range_end: datetime
    compressed: bool  # all of its rows are in the columnstore
    partial: bool  # compressed, with rows written since (late events)


def _table(conn: psycopg.Connection, table: str = "player_events") -> sql.Composed:
    schema = conn.execute("SELECT current_schema()").fetchone()[0]
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def chunks(conn: psycopg.Connection, ending_by: datetime | None = None) -> list[Chunk]:
    """The chunks of this schema's ``player_events``, oldest first; only those whose range ends at
    or before ``ending_by`` when it is given."""
    rows = conn.execute(
        """
        SELECT format('%%I.%%I', c.chunk_schema, c.chunk_name), c.range_start, c.range_end, k.status
        FROM timescaledb_information.chunks c
        JOIN _timescaledb_catalog.chunk k ON k.schema_name = c.chunk_schema AND k.table_name = c.chunk_name
        WHERE c.hypertable_schema = current_schema() AND c.hypertable_name = 'player_events'
          AND (%(end)s::timestamptz IS NULL OR c.range_end <= %(end)s)
        ORDER BY c.range_start
        """,
        {"end": ending_by},
    ).fetchall()
    return [
        Chunk(name, start, end, bool(status & _STATUS_COMPRESSED) and not status & _STATUS_PARTIAL,
              bool(status & _STATUS_PARTIAL))
        for name, start, end, status in rows
    ]


def compress_chunks_before(conn: psycopg.Connection, cutoff: datetime) -> list[str]:
    """Compress (or recompress, after late events) every chunk whose range ends by ``cutoff``;
    returns the chunks compressed now. Each chunk is its own statement: on an autocommit
    connection a long pass commits chunk by chunk."""
    ts = sql.Identifier(extension_schema(conn))
    done = []
    for chunk in chunks(conn, ending_by=cutoff):
        if chunk.compressed:
            continue
        try:
            conn.execute(
                sql.SQL("SELECT {}.compress_chunk({}::regclass, if_not_compressed => true)").format(
                    ts, sql.Literal(chunk.name)
                )
            )
        except psycopg.Error as exc:
            raise StoreError(f"compress_chunk({chunk.name}) failed: {exc}") from exc
        done.append(chunk.name)
    return done


def drop_chunks_between(conn: psycopg.Connection, newer_than: datetime, older_than: datetime) -> list[str]:
    """``drop_chunks``: drop the chunks lying wholly in [newer_than, older_than); returns their names."""
    ts = sql.Identifier(extension_schema(conn))
    try:
        rows = conn.execute(
            sql.SQL("SELECT {}.drop_chunks({}::regclass, older_than => %s, newer_than => %s)").format(
                ts, sql.Literal(_table(conn).as_string(conn))
            ),
            (older_than, newer_than),
        ).fetchall()
    except psycopg.Error as exc:
        raise StoreError(f"drop_chunks(player_events) failed: {exc}") from exc
    return [r[0] for r in rows]


def detach_day(conn: psycopg.Connection, day: date) -> str | None:
    """Take the UTC ``day``'s chunk out of the hypertable inside the caller's transaction (rolled back
    with it), decompressing it first when it is compressed (TimescaleDB cannot detach a compressed
    chunk); returns the detached table's name, to read, verify and :func:`drop_detached`, or None
    when the day has no chunk. A late event of that day landing afterwards gets a new chunk.
    The retention pass's archive-then-drop path, like ``store.partitions.detach_day`` on native."""
    start = datetime.combine(day, time(), tzinfo=timezone.utc)
    found = [c for c in chunks(conn, ending_by=start + timedelta(days=1)) if c.range_start == start]
    if not found:
        return None
    [chunk] = found
    ts = sql.Identifier(extension_schema(conn))
    try:
        if chunk.compressed or chunk.partial:
            conn.execute(sql.SQL("SELECT {}.decompress_chunk({}::regclass)").format(ts, sql.Literal(chunk.name)))
        conn.execute(sql.SQL("CALL {}.detach_chunk({}::regclass)").format(ts, sql.Literal(chunk.name)))
    except psycopg.Error as exc:
        raise StoreError(f"detaching chunk {chunk.name} of {day} failed: {exc}") from exc
    return chunk.name


def drop_detached(conn: psycopg.Connection, name: str) -> None:
    """Drop a chunk table :func:`detach_day` detached (``name`` is schema-qualified and quoted)."""
    schema, _, table = name.partition(".")
    conn.execute(sql.SQL("DROP TABLE {}.{}").format(sql.Identifier(schema.strip('"')), sql.Identifier(table.strip('"'))))


def drop_chunks_older_than(conn: psycopg.Connection, table: str, older_than: datetime) -> list[str]:
    """``drop_chunks`` of this schema's hypertable ``table`` (e.g. ``event_keys``): the chunks wholly
    older than ``older_than``; returns their names."""
    ts = sql.Identifier(extension_schema(conn))
    try:
        rows = conn.execute(
            sql.SQL("SELECT {}.drop_chunks({}::regclass, older_than => %s)").format(
                ts, sql.Literal(_table(conn, table).as_string(conn))
            ),
            (older_than,),
        ).fetchall()
    except psycopg.Error as exc:
        raise StoreError(f"drop_chunks({table}) failed: {exc}") from exc
    return [r[0] for r in rows]


@dataclass(frozen=True)
class CompressionStats:
    chunks: int
    compressed_chunks: int
    bytes_before: int  # of the compressed chunks, before compression
    bytes_after: int  # the same chunks, compressed

    @property
    def ratio(self) -> float:
        return self.bytes_before / self.bytes_after if self.bytes_after else 0.0


def compression_stats(conn: psycopg.Connection) -> CompressionStats:
    """``hypertable_compression_stats`` of this schema's ``player_events`` (table, index and toast bytes)."""
    ts = sql.Identifier(extension_schema(conn))
    row = conn.execute(
        sql.SQL(
            "SELECT total_chunks, number_compressed_chunks, before_compression_total_bytes,"
            " after_compression_total_bytes FROM {}.hypertable_compression_stats({}::regclass)"
        ).format(ts, sql.Literal(_table(conn).as_string(conn)))
    ).fetchone()
    if row is None:
        return CompressionStats(0, 0, 0, 0)
    return CompressionStats(*(int(v or 0) for v in row))

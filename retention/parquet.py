"""Moving player_events rows between PostgreSQL and Parquet files (pyarrow), and checksumming a
Parquet file with DuckDB.

PostgreSQL -> Parquet: ``COPY (SELECT ...) TO STDOUT (FORMAT csv)`` streamed into pyarrow's CSV
reader (typed columns, C++), cast to the archive schema, written in row groups. Parquet ->
PostgreSQL: the table as CSV into ``COPY ... FROM STDIN`` of a temporary stage, then one
``INSERT`` of the rows not already stored (restores are idempotent, see :func:`load_rows`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from retention.rows import COLUMNS, CSV_TYPES, SCHEMA, TIMES, Checksum, duckdb_checksum_sql, pg_select_sql

COMPRESSION = "zstd"
COPY_CHUNK = 1 << 20


BUCKET = "bucket"
# a player's bucket: stable across PostgreSQL versions and platforms (hash partitioning relies on it)
BUCKET_SQL = "abs(hashtextextended({player}, 0) %% {buckets})"  # %% : always run with parameters


def _csv_options() -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    return (
        pacsv.ReadOptions(column_names=[*COLUMNS, BUCKET], block_size=8 << 20),
        pacsv.ParseOptions(newlines_in_values=True),
        pacsv.ConvertOptions(column_types={**CSV_TYPES, BUCKET: pa.int32()}, strings_can_be_null=True,
                             quoted_strings_can_be_null=False, null_values=[""], true_values=["t"], false_values=["f"]),
    )


def _to_archive(table: pa.Table) -> pa.Table:
    arrays = [pc.cast(table[c], SCHEMA.field(c).type) if c in TIMES else table[c] for c in COLUMNS]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def export_rows(conn: psycopg.Connection, where: str, params: tuple, paths: list[Path], row_group_rows: int,
                progress: Callable[[int], None] = lambda _n: None) -> list[int]:
    """Write the rows of player_events matching ``where`` to ``len(paths)`` Parquet files, each row to
    the file of its player's bucket (``BUCKET_SQL``); returns the rows written to each file."""
    buckets = len(paths)
    bucket = BUCKET_SQL.format(player="player_id", buckets=buckets)
    query = (f"COPY (SELECT {pg_select_sql()}, {bucket} FROM player_events WHERE {where} ORDER BY event_time, event_id)"
             " TO STDOUT (FORMAT csv)")
    read, parse, convert = _csv_options()
    counts = [0] * buckets
    writers = [pq.ParquetWriter(path, SCHEMA, compression=COMPRESSION) for path in paths]
    try:
        with conn.cursor() as cur, cur.copy(query, params) as copy:
            buffer = io.BytesIO()
            for chunk in copy:  # one CopyData message per row: a block always ends on a row
                buffer.write(chunk)
                if buffer.tell() >= row_group_rows * 200:  # about row_group_rows rows of ~200 bytes of CSV
                    _write_csv_block(writers, counts, buffer, read, parse, convert)
                    progress(sum(counts))
                    buffer = io.BytesIO()
            _write_csv_block(writers, counts, buffer, read, parse, convert)
            progress(sum(counts))
    finally:
        for writer in writers:
            writer.close()
    return counts


def _write_csv_block(writers: list[pq.ParquetWriter], counts: list[int], buffer: io.BytesIO, read, parse,
                     convert) -> None:
    data = buffer.getvalue()
    if not data:
        return
    table = pacsv.read_csv(io.BytesIO(data), read_options=read, parse_options=parse, convert_options=convert)
    rows = _to_archive(table)
    if len(writers) == 1:
        writers[0].write_table(rows)
        counts[0] += rows.num_rows
        return
    for b, writer in enumerate(writers):
        part = rows.filter(pc.equal(table[BUCKET], b))
        if part.num_rows:
            writer.write_table(part)
            counts[b] += part.num_rows


def file_checksum(path: Path) -> Checksum:
    """(rows, checksum) of a Parquet file, computed by DuckDB from the file itself."""
    with duckdb.connect() as con:
        rows, total = con.execute(duckdb_checksum_sql(f"read_parquet('{_quote(path)}')")).fetchone()
    return Checksum(int(rows), int(total))


def table_checksum(table: pa.Table) -> Checksum:
    with duckdb.connect() as con:
        con.register("t", table)
        rows, total = con.execute(duckdb_checksum_sql("t")).fetchone()
    return Checksum(int(rows), int(total))


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def load_rows(conn: psycopg.Connection, table: pa.Table) -> int:
    """Insert archived rows back into player_events, skipping those already there; returns rows inserted.

    Idempotent: a row is skipped when player_events holds a row of the same game, player, event
    time and event id (the identity an archived row keeps; probed on player_events_player_time),
    so restoring a part twice, or a day partly still in PostgreSQL, stores each row once. The
    table has no unique key (migration 0006) and event_keys is not consulted: a restored day is
    older than the dedup horizon, whose keys are pruned. The restored rows' keys are not written
    to event_keys either: landing looks up events that old among the rows (processors/postgres_sink.py),
    so a late replay of a restored event is still skipped. Not guarded against: a client retry of a
    restored event with another sent_at (another corrected time), as for any event past the horizon."""
    if table.num_rows == 0:
        return 0
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS restore_stage (LIKE player_events INCLUDING DEFAULTS) "
                 "ON COMMIT DELETE ROWS")
    text = pa.Table.from_arrays(
        [pc.strftime(table[c], format="%Y-%m-%dT%H:%M:%S+00:00") if c in TIMES else table[c] for c in COLUMNS],
        names=list(COLUMNS),
    )
    sink = io.BytesIO()
    pacsv.write_csv(text, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    columns = ", ".join(COLUMNS)
    with conn.cursor() as cur:
        with cur.copy(f"COPY restore_stage ({columns}) FROM STDIN (FORMAT csv)") as copy:
            view = sink.getbuffer()
            for start in range(0, len(view), COPY_CHUNK):
                copy.write(view[start:start + COPY_CHUNK])
        # the stage's time bounds as constants: the anti-join reads only those days' partitions or chunks
        lo, hi = cur.execute("SELECT min(event_time), max(event_time) FROM restore_stage").fetchone()
        cur.execute(f"INSERT INTO player_events ({columns}) SELECT {columns} FROM restore_stage s "
                    "WHERE NOT EXISTS (SELECT 1 FROM player_events e WHERE e.event_time >= %s AND e.event_time <= %s "
                    "AND e.game_id = s.game_id AND e.player_id = s.player_id AND e.event_time = s.event_time "
                    "AND e.event_id = s.event_id)", (lo, hi))
        inserted = cur.rowcount
        cur.execute("TRUNCATE restore_stage")
    return inserted


def read_table(path: Path) -> pa.Table:
    return pq.read_table(path, schema=SCHEMA)


def write_table(table: pa.Table, path: Path, row_group_rows: int) -> None:
    pq.write_table(table, path, compression=COMPRESSION, row_group_size=row_group_rows)

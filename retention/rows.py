"""How a player_events row looks in Parquet, and the checksum both engines compute over it.

The archive keeps every column with its type (times as UTC microsecond timestamps, ids and
properties as text, revenue as decimal(18,6)). The checksum of a set of rows is
``(count, sum of the first 60 bits of md5(row text))``: PostgreSQL computes it over the table
(``pg_checksum_sql``), DuckDB over the Parquet file (``duckdb_checksum_sql``), from the same
canonical row text, so a verified archive holds exactly the rows PostgreSQL held. A sum (not a
hash of a sorted stream) lets both sides aggregate in any order and lets a rewrite subtract rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from store.tables import player_events

TIMES = ("event_time", "client_ts", "received_at", "landed_at")
UUIDS = ("event_id", "batch_id")
COLUMNS: tuple[str, ...] = tuple(c.name for c in player_events.columns)

_ARROW_TYPES = {
    "session_seq": pa.int32(), "is_new_player": pa.bool_(), "revenue_usd": pa.decimal128(18, 6),
    "delay_ms": pa.int64(),
}
UTC_US = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [pa.field(c, UTC_US if c in TIMES else _ARROW_TYPES.get(c, pa.string()), nullable=c not in ("event_id",))
     for c in COLUMNS]
)
# what COPY ... (FORMAT csv) of ``pg_select_sql`` gives, for pyarrow's CSV reader
CSV_TYPES = {c: (pa.int64() if c in TIMES else SCHEMA.field(c).type) for c in COLUMNS}
NULL = "\\N"


def pg_select_sql() -> str:
    """The columns as the archive writer reads them from PostgreSQL (times as epoch microseconds)."""
    parts = []
    for c in COLUMNS:
        if c in TIMES:
            parts.append(f"(extract(epoch FROM {c}) * 1000000)::int8 AS {c}")
        elif c in UUIDS or c == "properties":
            parts.append(f"{c}::text AS {c}")
        else:
            parts.append(c)
    return ", ".join(parts)


def _pg_text(c: str) -> str:
    if c in TIMES:
        return f"((extract(epoch FROM {c}) * 1000000)::int8)::text"
    return f"{c}::text"


def _duck_text(c: str) -> str:
    if c in TIMES:
        return f"CAST(epoch_us({c}) AS VARCHAR)"
    return f"CAST({c} AS VARCHAR)"


def _row(text_of) -> str:
    return "concat_ws('|', " + ", ".join(f"coalesce({text_of(c)}, '{NULL}')" for c in COLUMNS) + ")"


PG_ROW_HASH = f"('x' || substr(md5({_row(_pg_text)}), 1, 15))::bit(60)::int8"
DUCK_ROW_HASH = f"CAST('0x' || substr(md5({_row(_duck_text)}), 1, 15) AS BIGINT)"


def pg_checksum_sql(source: str, where: str) -> str:
    """SELECT count, checksum FROM ``source`` WHERE ``where`` (PostgreSQL)."""
    return f"SELECT count(*), coalesce(sum({PG_ROW_HASH}), 0) FROM {source} WHERE {where}"


def duckdb_checksum_sql(relation: str) -> str:
    return f"SELECT count(*), coalesce(sum({DUCK_ROW_HASH}), 0) FROM {relation}"


@dataclass(frozen=True)
class Checksum:
    rows: int
    checksum: int

    def __add__(self, other: "Checksum") -> "Checksum":
        return Checksum(self.rows + other.rows, self.checksum + other.checksum)


EMPTY = Checksum(0, 0)

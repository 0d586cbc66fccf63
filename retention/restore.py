"""``archive list|restore|query``: what is archived, bringing days back, and SQL over the archive.

Restore is idempotent: only rows not already stored go back (``retention.parquet.load_rows``),
and the parts become ``restored`` (the next retention pass removes them from PostgreSQL again
without a new upload, since their checksum still matches). Erased players are filtered by tombstone on the way in.
Query reads the manifest's objects in place through pyarrow's S3 filesystem, as a DuckDB view
``events`` (columns of player_events plus ``game_id``/``date`` from the path is not needed: they
are columns already).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from tqdm import tqdm

from retention import manifest
from retention.errors import ArchiveMismatch
from retention.manifest import Part
from retention.objects import ObjectStore
from retention.parquet import SCHEMA, file_checksum, load_rows, read_table
from store.privacy import PlayerHasher
from store.tombstones import tombstones_for_sync


def restore(conn: psycopg.Connection, objects: ObjectStore, hasher: PlayerHasher, game_id: str, lo: date, hi: date,
            progress: bool = True) -> tuple[int, int]:
    """Bring archived days [lo, hi] of a game back into player_events; returns (parts, rows inserted)."""
    parts = manifest.parts_between(conn, game_id, lo, hi, states=("dropped", "restored"))
    inserted = 0
    for part in tqdm(parts, desc="restore", unit="day", disable=not progress):
        with tempfile.TemporaryDirectory(prefix="gm-restore-") as tmp:
            path = Path(tmp) / "part.parquet"
            objects.get_file(part.object_key, path)
            if file_checksum(path) != part.sums:
                raise ArchiveMismatch(f"{part.object_key} does not match its manifest entry; not restored")
            table = read_table(path)
        players = {(game_id, p) for p in pc.unique(table["player_id"]).to_pylist()}
        stones = tombstones_for_sync(conn, hasher, players)
        if stones:  # an erased player's rows never come back (the archive is rewritten by the erase anyway)
            erased = [p for (_, p) in stones]
            table = table.filter(pc.invert(pc.is_in(table["player_id"], value_set=pa.array(erased))))
        with conn.transaction():
            inserted += load_rows(conn, table)
            manifest.set_state(conn, [part], "restored")
    return len(parts), inserted


def listing(conn: psycopg.Connection, game_id: str | None, lo: date, hi: date) -> list[Part]:
    return manifest.parts_between(conn, game_id, lo, hi, states=("archived", "dropped", "restored", "expired"))


def query(conn: psycopg.Connection, objects: ObjectStore, sql_text: str, game_id: str | None = None,
          lo: date = date.min, hi: date = date.max) -> tuple[list[str], list[tuple]]:
    """Run DuckDB SQL over the view ``events`` = every archived object (of a game, of a range)."""
    parts = manifest.parts_between(conn, game_id, lo, hi, states=("archived", "dropped", "restored"))
    with duckdb.connect() as con:
        if parts:
            dataset = ds.dataset([f"{objects.bucket}/{p.object_key}" for p in parts], schema=SCHEMA, format="parquet",
                                 filesystem=objects.arrow_filesystem())
            con.register("events", dataset)
        else:
            con.register("events", SCHEMA.empty_table())
        result = con.execute(sql_text)
        columns = [d[0] for d in result.description] if result.description else []
        return columns, result.fetchall()

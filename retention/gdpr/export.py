"""Export everything we hold on one player as one zip of JSON-lines files in object storage.

    manifest.json        request, game, player hash, time, files and their line counts
    profile.jsonl        players
    events.jsonl         player_events (PostgreSQL) and the archived days (Parquet), by event time
    sessions.jsonl, daily_activity.jsonl, notifications.jsonl
    <extra>.jsonl        stores of other stages (EXTRA_EXPORTERS: the recommender's recommendations)

Written to ``exports/game_id=G/player=<hash>/<request>.zip``; the user gets a presigned URL that
expires (``GAMEMETRICS_GDPR_EXPORT_URL_TTL_S``). An erase deletes earlier bundles.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.compute as pc
from psycopg import sql

from retention.gdpr.forgetters import ForgetContext, export_prefix, player_parts
from retention.parquet import read_table

Rows = Iterator[dict[str, Any]]
Exporter = tuple[str, Callable[[ForgetContext], Rows]]


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _table_rows(ctx: ForgetContext, table: str, order: str) -> Rows:
    with ctx.conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(sql.SQL("SELECT * FROM {} WHERE game_id = %s AND player_id = %s ORDER BY {}").format(
            sql.Identifier(table), sql.SQL(order)), (ctx.game_id, ctx.player_id))
        yield from cur


def events(ctx: ForgetContext) -> Rows:
    yield from _table_rows(ctx, "player_events", "event_time, event_id")
    for part in player_parts(ctx, ("dropped",)):  # archived/restored rows are in PostgreSQL, read above
        with tempfile.TemporaryDirectory(prefix="gm-export-") as tmp:
            path = Path(tmp) / "part.parquet"
            ctx.objects.get_file(part.object_key, path)
            table = read_table(path)
            for row in table.filter(pc.equal(table["player_id"], ctx.player_id)).to_pylist():
                row["archived_in"] = part.object_key
                yield row


BUILTIN_EXPORTERS: tuple[Exporter, ...] = (
    ("profile", lambda ctx: _table_rows(ctx, "players", "game_id")),
    ("events", events),
    ("sessions", lambda ctx: _table_rows(ctx, "sessions", "started_at")),
    ("daily_activity", lambda ctx: _table_rows(ctx, "player_daily_activity", "day")),
    ("notifications", lambda ctx: _table_rows(ctx, "notification_deliveries", "updated_at")),
)


def _recommender_rows(ctx: ForgetContext) -> list[dict]:
    from recommender.forget import export_player

    return export_player(ctx.settings, ctx.game_id, ctx.player_id, ctx.stages.recommender, ctx.stages.tokens)


# Stores of other stages: what the recommender keeps on the player (its Qdrant payloads).
EXTRA_EXPORTERS: list[Exporter] = [("recommender", _recommender_rows)]


def write_bundle(ctx: ForgetContext, request_id: str) -> tuple[str, dict[str, int], str, int]:
    """Build and upload the bundle; returns (object key, lines per file, sha256, bytes)."""
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="gm-export-") as tmp:
        path = Path(tmp) / "bundle.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for name, rows in [*BUILTIN_EXPORTERS, *EXTRA_EXPORTERS]:
                n = 0
                with bundle.open(f"{name}.jsonl", "w") as out:
                    for row in rows(ctx):
                        out.write(json.dumps(row, default=_json_default, ensure_ascii=False).encode() + b"\n")
                        n += 1
                counts[name] = n
            bundle.writestr("manifest.json", json.dumps({
                "request_id": request_id, "game_id": ctx.game_id, "player_id": ctx.player_id,
                "player_hash": ctx.player_hash, "created_at": datetime.now().astimezone().isoformat(), "files": counts,
            }, indent=2))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        key = f"{export_prefix(ctx.game_id, ctx.player_hash)}{request_id}.zip"
        ctx.objects.put_file(key, path, content_type="application/zip")
        return key, counts, digest, path.stat().st_size

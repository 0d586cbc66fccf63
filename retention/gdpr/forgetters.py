"""Every store that holds a player, and how to forget them: one ``Forgetter`` per store, run in
order by the erase job. Each returns what it removed (counts per table/object/key), which goes
into the receipt; one that raises marks the request failed with that store's name.

Order matters: PostgreSQL first (under the player's landing lock, after the tombstone was
committed, so no landing transaction can add a row behind us), then the archives, exports and
caches. What stays, on purpose: anonymous aggregates (the rollups of store/rollups.py without
player rows: event_rollup_minute counts and unique_players numbers, match_outcomes_hourly), and
Kafka's raw and dead-letter topics until their retention ages them out (7 and 30 days); both
topics only reach a table through landing, which drops the player by tombstone.

Other stages add their stores here: ``EXTRA_FORGETTERS`` is the one list to extend (the
recommender's ``forget_player``: Qdrant points and its Redis answers).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow.compute as pc
import redis
import structlog
from psycopg import sql

from gamemetrics.settings import Settings
from retention import manifest
from retention.objects import ObjectStore
from retention.parquet import BUCKET_SQL, file_checksum, read_table, table_checksum, write_table
from retention.rows import Checksum
from retention.settings import OtherStages, RetentionSettings
from store.rollups import erased_tables

log = structlog.get_logger("retention.gdpr")

# the tables forgotten by name (and counted in the receipt under their name): the events, every rollup
# holding players (store/rollups.py), the delivery log; any other table of the schema with game_id
# and player_id columns is found and forgotten too (``player_tables``)
PLAYER_TABLES = ("player_events", *erased_tables(), "notification_deliveries")
# tables that must never be swept by the generic rule (they hold hashes, or are our own bookkeeping)
OWN_TABLES = ("gdpr_requests", "player_tombstones", "audit_log", "archive_players", "archive_manifest")
# the same advisory lock key landing takes per player (processors/land.py _LOCK): game_id \x1f player_id
PLAYER_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"


@dataclass(frozen=True)
class ForgetContext:
    settings: Settings
    retention: RetentionSettings
    conn: psycopg.Connection
    objects: ObjectStore
    game_id: str
    player_id: str
    player_hash: str
    stages: OtherStages


Forgetter = tuple[str, Callable[[ForgetContext], dict[str, int]]]


def player_tables(conn: psycopg.Connection) -> list[str]:
    """Every table of the schema with text columns game_id and player_id (partitions excluded)."""
    rows = conn.execute(
        """
        SELECT c.table_name FROM information_schema.columns c
        JOIN pg_class k ON k.relname = c.table_name AND k.relnamespace = current_schema()::regnamespace
        WHERE c.table_schema = current_schema() AND c.column_name IN ('game_id', 'player_id')
          AND NOT k.relispartition AND k.relkind IN ('r', 'p')
        GROUP BY c.table_name HAVING count(*) = 2 ORDER BY 1
        """
    ).fetchall()
    return [r[0] for r in rows if r[0] not in OWN_TABLES]


def forget_postgres(ctx: ForgetContext) -> dict[str, int]:
    """Delete the player's rows from every PostgreSQL table (all partitions, the default one), in one
    transaction under the landing lock of that player. Each DELETE uses a (game_id, player_id, ...)
    index: per partition for player_events, so the cost grows with the partitions, not the rows."""
    counts: dict[str, int] = {}
    conn = ctx.conn
    with conn.transaction():
        conn.execute(PLAYER_LOCK, (f"{ctx.game_id}\x1f{ctx.player_id}",))
        for table in [*PLAYER_TABLES, *(t for t in player_tables(conn) if t not in PLAYER_TABLES)]:
            cur = conn.execute(sql.SQL("DELETE FROM {} WHERE game_id = %s AND player_id = %s").format(
                sql.Identifier(table)), (ctx.game_id, ctx.player_id))
            counts[table] = cur.rowcount
    return counts


def player_parts(ctx: ForgetContext, states: tuple[str, ...]) -> list[manifest.Part]:
    """The archived objects that may hold the player: the days ``archive_players`` names, and of a day
    split into buckets only the player's bucket."""
    conn = ctx.conn
    days = [r[0] for r in conn.execute(
        "SELECT day FROM archive_players WHERE game_id = %s AND player_hash = %s ORDER BY day",
        (ctx.game_id, ctx.player_hash))]
    parts = [p for day in days for p in manifest.parts_of(conn, ctx.game_id, day) if p.state in states]
    bucket_of = {n: conn.execute(f"SELECT {BUCKET_SQL.format(player='%s', buckets=n)}", (ctx.player_id,)).fetchone()[0]
                 for n in {p.buckets for p in parts}}
    return [p for p in parts if p.bucket == bucket_of[p.buckets]]


REWRITE_THREADS = 4  # objects rewritten at once: download/upload wait on the network, pyarrow and DuckDB release the GIL


def forget_archives(ctx: ForgetContext) -> dict[str, int]:
    """Rewrite each archived Parquet object holding the player without their rows, verified: the new
    file's rows and checksum must be the old ones minus the removed rows'. Only the days that
    ``archive_players`` names are opened; the objects are rewritten in parallel, the manifest is
    updated as each one is stored."""
    from concurrent.futures import ThreadPoolExecutor

    conn = ctx.conn
    parts = player_parts(ctx, ("archived", "dropped", "restored"))
    def attempt(part: manifest.Part) -> tuple[int, Checksum, int] | None | Exception:
        try:
            return _rewrite_without(ctx, part)
        except Exception as exc:  # kept, so the manifest still gets every rewrite that was stored
            return exc

    rewritten = removed_rows = 0
    errors: list[Exception] = []
    with ThreadPoolExecutor(max_workers=REWRITE_THREADS, thread_name_prefix="gm-erase") as pool:
        for part, result in zip(parts, pool.map(attempt, parts)):
            if isinstance(result, Exception):
                errors.append(result)
                continue
            if result is None:
                continue
            removed, after, size = result
            with conn.transaction():
                manifest.rewrite_part(conn, part, after, size)
            rewritten += 1 if removed else 0
            removed_rows += removed
    if errors:
        raise errors[0]
    with conn.transaction():
        conn.execute("DELETE FROM archive_players WHERE game_id = %s AND player_hash = %s",
                     (ctx.game_id, ctx.player_hash))
    return {"parquet_objects_rewritten": rewritten, "archived_rows": removed_rows}


def _rewrite_without(ctx: ForgetContext, part: manifest.Part) -> tuple[int, Checksum, int] | None:
    """Store the object again without the player (no database access: runs in a worker thread);
    returns (rows removed, the new sums, the new size), None when the player is not in it."""
    from retention.errors import ArchiveMismatch

    with tempfile.TemporaryDirectory(prefix="gm-erase-") as tmp:
        old_path, new_path = Path(tmp) / "old.parquet", Path(tmp) / "new.parquet"
        ctx.objects.get_file(part.object_key, old_path)
        table = read_table(old_path)
        mine = pc.equal(table["player_id"], ctx.player_id)
        gone = table.filter(mine)
        if gone.num_rows == 0:
            if table.num_rows != part.rows:  # rewritten by an erase killed before it updated the manifest
                return 0, file_checksum(old_path), old_path.stat().st_size
            return None
        kept = table.filter(pc.invert(mine))
        write_table(kept, new_path, ctx.retention.row_group_rows)
        # the old object was verified against PostgreSQL when archived: its manifest sums stand for it (a
        # differing object makes this check fail, never pass)
        before, removed, after = part.sums, table_checksum(gone), file_checksum(new_path)
        if after != Checksum(before.rows - removed.rows, before.checksum - removed.checksum):
            raise ArchiveMismatch(f"{part.object_key}: the rewritten file does not verify; the old one is kept")
        ctx.objects.put_file(part.object_key, new_path)
        size = new_path.stat().st_size
        if ctx.objects.size(part.object_key) != size:
            raise ArchiveMismatch(f"{part.object_key}: the stored rewrite is not {size} bytes")
        log.info("archive_rewritten", key=part.object_key, removed=gone.num_rows)
        return gone.num_rows, after, size


def export_prefix(game_id: str, player_hash: str) -> str:
    return f"exports/game_id={game_id}/player={player_hash}/"


def forget_exports(ctx: ForgetContext) -> dict[str, int]:
    """Earlier export bundles of the player (they hold everything we had)."""
    keys = list(ctx.objects.keys(export_prefix(ctx.game_id, ctx.player_hash)))
    for key in keys:
        ctx.objects.delete(key)
    return {"export_bundles": len(keys)}


def _names(answer: bytes, player_id: str) -> bool:
    """True when a cached similar-player answer (JSON) lists ``player_id``."""
    try:
        players = json.loads(answer).get("players") or []
    except (ValueError, AttributeError):
        return False
    return any(isinstance(p, dict) and p.get("player_id") == player_id for p in players)


def forget_redis(ctx: ForgetContext) -> dict[str, int]:
    """The player's keys of this game, by name (``recommender.cache.player_keys``: answers, locks, the
    named-in set), and the other players' cached similar-player answers that name them (found through
    that set): no SCAN, nothing of another game or tenant, exact counts. Logs the keyed hash only."""
    from recommender.cache import named_in_key, player_keys
    from recommender.vectors import safe_name

    namespace = safe_name(ctx.settings.database_schema)
    client = redis.Redis.from_url(ctx.settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    purged = 0
    try:
        for asker in client.smembers(named_in_key(namespace, ctx.game_id, ctx.player_id)):
            fields = client.hgetall(asker)
            naming = [f for f, v in fields.items() if b"|similar|" in f and _names(v, ctx.player_id)]
            if naming:
                purged += int(client.hdel(asker, *naming))
        deleted = int(client.delete(*player_keys(namespace, ctx.game_id, ctx.player_id)))
    finally:
        client.close()
    log.info("redis_forgotten", game_id=ctx.game_id, player_hash=ctx.player_hash, keys=deleted, answers_purged=purged)
    return {"redis_keys": deleted, "answers_naming_player": purged}


BUILTIN_FORGETTERS: tuple[Forgetter, ...] = (
    ("postgresql", forget_postgres),
    ("archives", forget_archives),
    ("exports", forget_exports),
    ("redis", forget_redis),
)



def forget_recommender(ctx: ForgetContext) -> dict[str, int]:
    """The recommender's stores: the player's Qdrant points (every model version) and cached answers."""
    from recommender.forget import forget_player

    return forget_player(ctx.settings, ctx.game_id, ctx.player_id, ctx.stages.recommender, ctx.stages.tokens)


# Stores of other stages.
EXTRA_FORGETTERS: list[Forgetter] = [("recommender", forget_recommender)]


def forgetters() -> list[Forgetter]:
    return [*BUILTIN_FORGETTERS, *EXTRA_FORGETTERS]

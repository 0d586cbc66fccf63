"""Archive expired days of ``player_events`` to Parquet in object storage, verify, then drop them.

For each day past the shortest hot policy, for each game whose own policy has expired it:

  1. read the game's rows of the day and their checksum in ONE repeatable-read snapshot, into
     local Parquet files, one per bucket of players when the day is big (retention.parquet);
  2. checksum the files with DuckDB; their sum must equal PostgreSQL's (rows and sum), else stop;
  3. upload them as ``events/game_id=G/date=D/part-NNNN.parquet`` and check the stored sizes;
  4. record the part in ``archive_manifest`` (state archived) with the day's player hashes in
     ``archive_players``, in one transaction;
  5. drop: when every game of the day is archived, detach the day's partition, re-verify every
     game's rows against the manifest inside that transaction, drop it (a mismatch rolls the
     detach back); otherwise delete the game's rows with ``DELETE ... RETURNING`` checksummed in
     the same statement. The parts become ``dropped``.

Kill -9 anywhere: before (4) the object is unknown to the manifest and the rerun overwrites the
same key; after (4) the rerun finds the part whose checksum equals PostgreSQL's and goes to (5);
(5) is one transaction. So nothing is lost and nothing is archived twice.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pyarrow.compute as pc
import pyarrow.parquet as pq
import structlog

from retention import manifest
from retention.days import DayStore
from retention.errors import ArchiveMismatch
from retention.manifest import Part
from retention.objects import ObjectStore
from retention.parquet import export_rows, file_checksum
from retention.policies import Policies
from retention.rows import EMPTY, PG_ROW_HASH, Checksum, pg_checksum_sql
from retention.settings import RetentionSettings
from store.partitions import day_range
from store.privacy import PlayerHasher

log = structlog.get_logger("retention.archive")

GAME_DAY = "game_id = %s AND event_time >= %s AND event_time < %s"
LIVE = ("archived", "restored")  # parts whose rows are (still, or again) in PostgreSQL


@dataclass
class ArchiveSummary:
    rows_archived: int = 0
    bytes_archived: int = 0
    parts_written: int = 0
    game_days_dropped: int = 0
    partitions_dropped: int = 0
    rows_dropped: int = 0
    mismatches: list[str] = field(default_factory=list)


def _sum(parts: list[Part]) -> Checksum:
    return _sum_checksums(p.sums for p in parts)


def _sum_checksums(sums) -> Checksum:
    total = EMPTY
    for c in sums:
        total = total + c
    return total


class Archiver:
    def __init__(self, conn: psycopg.Connection, objects: ObjectStore, hasher: PlayerHasher,
                 settings: RetentionSettings, policies: Policies, days: DayStore,
                 on_step: Callable[[str], None] = lambda _s: None) -> None:
        self._conn = conn
        self._objects = objects
        self._hasher = hasher
        self._settings = settings
        self._policies = policies
        self._days = days
        self._on_step = on_step  # test hook point for kill-9 tests and progress: called between the steps
        self.summary = ArchiveSummary()

    def expired_work(self, today: date) -> list[tuple[date, list[str], list[str]]]:
        """(day, games of the day, games whose policy expired it) for every day that may be expired."""
        first_kept = today - timedelta(days=self._policies.shortest("player_events"))
        work = []
        for day in self._days.days_before(self._conn, first_kept):
            games = self._days.games_of_day(self._conn, day)
            expired = [g for g in games if day < self._policies.cutoff("player_events", today, g)
                       and not manifest.recently_restored(self._conn, g, day, self._settings.restore_keep_days)]
            if expired:
                work.append((day, games, expired))
        return work

    # (1)-(4)
    def archive(self, game_id: str, day: date) -> list[Part]:
        lo, hi = day_range(day)
        live = [p for p in manifest.parts_of(self._conn, game_id, day) if p.state in LIVE]
        with tempfile.TemporaryDirectory(prefix="gm-archive-") as tmp:
            with self._conn.transaction():
                self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                row = self._conn.execute(pg_checksum_sql("player_events", GAME_DAY), (game_id, lo, hi)).fetchone()
                in_pg = Checksum(int(row[0]), int(row[1]))
                if in_pg.rows == 0 or (live and _sum(live) == in_pg):
                    return []  # nothing here, or already archived and unchanged
                buckets = manifest.buckets_for(in_pg.rows, self._settings.bucket_rows)
                paths = [Path(tmp) / f"bucket-{b}.parquet" for b in range(buckets)]
                counts = export_rows(self._conn, GAME_DAY, (game_id, lo, hi), paths, self._settings.row_group_rows)
            self._on_step("exported")
            in_files = {b: file_checksum(paths[b]) for b in range(buckets) if counts[b]}
            total = _sum_checksums(in_files.values())
            if total != in_pg or sum(counts) != in_pg.rows:
                raise ArchiveMismatch(
                    f"{game_id} {day}: the Parquet files hold {total.rows} rows (checksum {total.checksum}),"
                    f" PostgreSQL {in_pg.rows} (checksum {in_pg.checksum}); nothing was uploaded or dropped"
                )
            first = manifest.next_part(self._conn, game_id, day)
            parts, players = [], set()
            for number, (b, sums) in enumerate(sorted(in_files.items()), start=first):
                key = manifest.object_key(game_id, day, number)
                size = paths[b].stat().st_size
                self._objects.put_file(key, paths[b])
                stored = self._objects.size(key)
                if stored != size:
                    raise ArchiveMismatch(f"{key}: the object store holds {stored} bytes, we wrote {size}; not recorded")
                parts.append(Part(game_id, day, number, key, sums.rows, sums.checksum, size, "archived",
                                  None, b, buckets))  # type: ignore[arg-type]
                players.update(pc.unique(pq.read_table(paths[b], columns=["player_id"])["player_id"]).to_pylist())
            self._on_step("uploaded")
        with self._conn.transaction():
            manifest.record_parts(self._conn, parts, superseded=live)
            self._conn.execute(  # one statement for the day's players (tens of thousands)
                "INSERT INTO archive_players (game_id, player_hash, day) SELECT %s, h, %s FROM unnest(%s::text[]) AS h"
                " ON CONFLICT DO NOTHING",
                (game_id, day, [self._hasher(game_id, p) for p in players]),
            )
        self._on_step("recorded")
        for old in live:  # their rows are in the new parts; the manifest no longer names them
            self._objects.delete(old.object_key)
        size = sum(p.bytes for p in parts)
        self.summary.rows_archived += in_pg.rows
        self.summary.bytes_archived += size
        self.summary.parts_written += len(parts)
        log.info("archived", game_id=game_id, day=str(day), rows=in_pg.rows, bytes=size, objects=len(parts))
        return parts

    # (5), one game of a day that other games still keep
    def drop_game_day(self, game_id: str, day: date) -> bool:
        lo, hi = day_range(day)
        live = [p for p in manifest.parts_of(self._conn, game_id, day) if p.state in LIVE]
        expected = _sum(live)
        try:
            with self._conn.transaction():
                row = self._conn.execute(
                    f"WITH gone AS (DELETE FROM player_events WHERE {GAME_DAY} RETURNING *)"
                    f" SELECT count(*), coalesce(sum({PG_ROW_HASH}), 0) FROM gone", (game_id, lo, hi),
                ).fetchone()
                deleted = Checksum(int(row[0]), int(row[1]))
                if deleted != expected:
                    raise ArchiveMismatch(f"{game_id} {day}: PostgreSQL changed since the archive "
                                          f"({deleted.rows} rows now, {expected.rows} archived); kept, re-archived next pass")
                manifest.set_state(self._conn, live, "dropped")
        except ArchiveMismatch as exc:
            self.summary.mismatches.append(str(exc))
            log.warning("drop_refused", reason=str(exc))
            return False
        self.summary.game_days_dropped += 1
        self.summary.rows_dropped += deleted.rows
        return True

    # (5), a whole day
    def drop_day(self, day: date, games: list[str]) -> bool:
        lo, hi = day_range(day)
        live = {g: [p for p in manifest.parts_of(self._conn, g, day) if p.state in LIVE] for g in games}
        try:
            with self._conn.transaction():
                found: dict[str, Checksum] = defaultdict(lambda: EMPTY)
                handle = self._days.detach_day(self._conn, day)
                if handle is not None:
                    for g, n, s in self._conn.execute(
                        f"SELECT game_id, count(*), coalesce(sum({PG_ROW_HASH}), 0) FROM {handle} GROUP BY game_id"
                    ):
                        found[g] = found[g] + Checksum(int(n), int(s))
                for g, n, s in self._conn.execute(  # rows of that day outside its partition (late, restored)
                    "WITH gone AS (DELETE FROM player_events WHERE event_time >= %s AND event_time < %s RETURNING *)"
                    f" SELECT game_id, count(*), coalesce(sum({PG_ROW_HASH}), 0) FROM gone GROUP BY game_id", (lo, hi),
                ):
                    found[g] = found[g] + Checksum(int(n), int(s))
                for g in set(found) | set(live):
                    if found[g] != _sum(live.get(g, [])):
                        raise ArchiveMismatch(
                            f"{day}: game {g} has {found[g].rows} rows in PostgreSQL, {_sum(live.get(g, [])).rows} "
                            "archived; the day is kept (re-archived next pass)"
                        )
                self._on_step("verified-drop")
                if handle is not None:
                    self._days.drop_detached(self._conn, handle)
                for parts in live.values():
                    manifest.set_state(self._conn, parts, "dropped")
        except ArchiveMismatch as exc:
            self.summary.mismatches.append(str(exc))
            log.warning("drop_refused", reason=str(exc))
            return False
        self.summary.game_days_dropped += len(games)
        self.summary.partitions_dropped += 1 if handle is not None else 0
        self.summary.rows_dropped += sum(c.rows for c in found.values())
        log.info("day_dropped", day=str(day), games=len(games), partition=handle)
        return True

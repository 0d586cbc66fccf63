"""One retention pass, ``gamemetrics retention run`` (cron):

  1. archive every expired (game, day) of player_events to Parquet, verify, drop (retention.archive);
     on TimescaleDB compress the chunks older than GAMEMETRICS_RETENTION_COMPRESS_AFTER_DAYS;
  2. trim the stores kept in place (rollups, daily activity, sessions, notification log) and
     delete archives past their policy (retention.sweep);
  3. set the dead-letter topic's retention to its policy;
  4. run the open GDPR requests (retention.gdpr.job);
  5. update the metrics (and write them to a Prometheus text file when asked).

All under the retention advisory lock. Safe to kill at any point and to run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import structlog
from prometheus_client import REGISTRY, write_to_textfile
from tqdm import tqdm

from gamemetrics import metric_defs as m
from gamemetrics.settings import Settings
from retention.archive import ArchiveSummary, Archiver
from retention.days import day_store
from retention.gdpr import requests
from retention.gdpr.job import GdprJob, JobOutcome
from retention.lock import retention_lock
from retention.objects import ObjectStore
from retention.policies import Policies
from retention.settings import GdprSettings, OtherStages, RetentionSettings, S3Settings
from retention.sweep import dead_letter_retention, expire_archives, trim_tables
from store import db
from store.privacy import PlayerHasher
from streams.topics import DLQ

log = structlog.get_logger("retention.run")


@dataclass
class PassSummary:
    archive: ArchiveSummary = field(default_factory=ArchiveSummary)
    trimmed: dict[str, int] = field(default_factory=dict)
    archives_expired: int = 0
    compressed: int = 0
    dlq_retention_changed: bool = False
    gdpr: JobOutcome = field(default_factory=JobOutcome)

    def lines(self) -> list[str]:
        a = self.archive
        out = [
            f"archived: {a.rows_archived} rows in {a.parts_written} Parquet objects ({a.bytes_archived} bytes)",
            f"dropped from PostgreSQL: {a.game_days_dropped} game-days, {a.partitions_dropped} partitions,"
            f" {a.rows_dropped} rows",
            "trimmed: " + (", ".join(f"{t} {n}" for t, n in self.trimmed.items()) or "nothing"),
            f"archives expired: {self.archives_expired}",
            f"dead-letter topic retention: {'updated' if self.dlq_retention_changed else 'as configured'}",
            f"GDPR requests: {len(self.gdpr.done)} done, {len(self.gdpr.failed)} failed",
        ]
        out += [f"  refused drop: {x}" for x in a.mismatches]
        out += [f"  failed {r} at {s}: {e}" for r, s, e in self.gdpr.failed]
        return out


def run_pass(settings: Settings, s3: S3Settings, retention: RetentionSettings, gdpr: GdprSettings,
             stages: OtherStages, today: date | None = None, progress: bool = True, metrics_file: Path | None = None,
             on_step=lambda _s: None) -> PassSummary:
    today = today or datetime.now(timezone.utc).date()
    summary = PassSummary()
    objects = ObjectStore(s3)
    objects.ensure_bucket()
    with retention_lock(settings), db.connect(settings, autocommit=True) as conn:
        policies = Policies.load(conn, retention)
        days = day_store(conn)
        archiver = Archiver(conn, objects, PlayerHasher.of(settings), retention, policies, days, on_step)
        summary.archive = archiver.summary
        work = archiver.expired_work(today)
        with tqdm(total=sum(len(e) for _, _, e in work), unit="game-day", desc="archive", disable=not progress) as bar:
            for day, games, expired in work:
                for game in expired:
                    archiver.archive(game, day)
                    bar.update(1)
                    bar.set_postfix(rows=archiver.summary.rows_archived)
                if set(expired) == set(games):
                    archiver.drop_day(day, games)
                else:
                    for game in expired:
                        archiver.drop_game_day(game, day)
        summary.compressed = days.compress_older_than(conn, retention.compress_after_days)
        summary.trimmed = trim_tables(conn, policies, today)
        summary.archives_expired = expire_archives(conn, objects, policies, today)
        summary.dlq_retention_changed = dead_letter_retention(
            settings.kafka_bootstrap_servers, settings.topic(DLQ.name), policies.days("dead_letters"),
            settings.kafka_security())
        summary.gdpr = GdprJob(conn, settings, retention, gdpr, objects, stages).run_open()
        update_gauges(conn)
    a = summary.archive
    m.RETENTION_ROWS_ARCHIVED.set(a.rows_archived)
    m.RETENTION_BYTES_ARCHIVED.set(a.bytes_archived)
    m.RETENTION_DAYS_DROPPED.set(a.game_days_dropped)
    for table, n in summary.trimmed.items():
        m.RETENTION_ROWS_DELETED.labels(table).set(n)
    m.RETENTION_ROWS_DELETED.labels("archive_parts").set(summary.archives_expired)
    m.RETENTION_LAST_SUCCESS.set_to_current_time()
    if metrics_file is not None:
        write_to_textfile(str(metrics_file), REGISTRY)
    log.info("retention_pass_done", rows_archived=a.rows_archived, bytes=a.bytes_archived,
             game_days_dropped=a.game_days_dropped, gdpr_done=len(summary.gdpr.done),
             gdpr_failed=len(summary.gdpr.failed))
    return summary


def update_gauges(conn) -> None:
    counts, oldest = requests.status_counts(conn)
    for kind in requests.KINDS:
        for status in ("pending", "running", "done", "failed"):
            m.GDPR_REQUESTS.labels(kind, status).set(counts.get((kind, status), 0))
    m.GDPR_OLDEST_PENDING_AGE.set(oldest)


def run_open_requests(settings: Settings, s3: S3Settings, retention: RetentionSettings, gdpr: GdprSettings,
                      stages: OtherStages, metrics_file: Path | None = None) -> JobOutcome | None:
    """Only step 4 (the frequent cron line); None when a pass holds the lock (it runs them itself)."""
    from retention.errors import BusyError

    objects = ObjectStore(s3)
    objects.ensure_bucket()
    try:
        with retention_lock(settings), db.connect(settings, autocommit=True) as conn:
            outcome = GdprJob(conn, settings, retention, gdpr, objects, stages).run_open()
            update_gauges(conn)
    except BusyError:
        return None
    if metrics_file is not None:
        write_to_textfile(str(metrics_file), REGISTRY)
    return outcome


def run_gdpr_now(settings: Settings, s3: S3Settings, retention: RetentionSettings, gdpr: GdprSettings,
                 stages: OtherStages, request_id: str, wait_s: float = 600.0) -> JobOutcome:
    """Run one request at once (``gdpr erase|export``), waiting for a running pass to finish first."""
    objects = ObjectStore(s3)
    objects.ensure_bucket()
    with retention_lock(settings, wait_s=wait_s), db.connect(settings, autocommit=True) as conn:
        outcome = GdprJob(conn, settings, retention, gdpr, objects, stages).run_open(only=request_id)
        update_gauges(conn)
    return outcome

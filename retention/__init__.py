"""Cron-driven retention, archival and GDPR jobs (``gamemetrics retention|archive|gdpr|audit``).

A tour, in the order of one pass (``run.py``):
  policies.py   how long each store keeps what, per game
  archive.py    expired days of player_events -> Parquet in S3 (parquet.py, rows.py: the checksum both
                PostgreSQL and DuckDB compute), verified, recorded (manifest.py), then dropped through
                days.py (the day layout: native partitions; TimescaleDB chunks at merge)
  sweep.py      rollups, sessions, the notification log, expired archives, the DLQ topic's retention
  gdpr/         erase/export requests (requests.py), every store's forgetter (forgetters.py), the
                export bundle (export.py), signed receipts (receipts.py), the job (job.py)
  restore.py    archive restore and DuckDB queries over the archive in place
  objects.py    the S3 client; lock.py the advisory lock; settings.py, errors.py, cli.py
Store-level pieces other stages use live in store/: privacy.py (keyed player hashes),
tombstones.py (landing's filter, ingest's suppression list), audit.py (the hash-chained log).
"""

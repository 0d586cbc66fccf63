"""pgBackRest's config and its readings, pure (the drill in test_pitr.py runs them for real)."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from operations.backup.pgbackrest import Cluster, archiving_conf, parse_info, recovery_target, render_config
from operations.backup.settings import BackupSettings
from operations.errors import BackupError


def test_config_names_an_encrypted_s3_repository_with_retention_and_the_cluster():
    settings = BackupSettings(s3_port=19443, s3_ca_file=Path("/ca.pem"), retention_full=3)
    text = render_config(settings, Cluster(Path("/pg/data"), 15432, Path("/pg/socket")), Path("/pg/pgbackrest"))
    lines = set(text.splitlines())
    assert {"repo1-type=s3", "repo1-s3-endpoint=localhost", "repo1-storage-port=19443", "repo1-s3-uri-style=path",
            "repo1-cipher-type=aes-256-cbc", "repo1-cipher-pass=gamemetrics-local-backup-passphrase",
            "repo1-retention-full=3", "repo1-storage-ca-file=/ca.pem", "[gamemetrics]", "pg1-path=/pg/data",
            "pg1-port=15432", "pg1-socket-path=/pg/socket", "lock-path=/pg/pgbackrest/lock"} <= lines
    assert not any(line.startswith("repo1-storage-host") for line in lines)  # empty: connect to the endpoint


def test_archiving_settings_push_every_wal_segment_to_the_stanza():
    conf = archiving_conf(Path("/pg/pgbackrest/pgbackrest.conf"), BackupSettings(archive_timeout_s=30), Path("/s"))
    assert "archive_mode = on" in conf and "archive_timeout = 30" in conf
    assert ("archive_command = 'pgbackrest --config=/pg/pgbackrest/pgbackrest.conf --stanza=gamemetrics"
            " archive-push %p'") in conf


def test_restore_target_is_utc_with_microseconds_and_a_naive_time_is_refused():
    at = datetime(2026, 12, 6, 8, 10, 0, 123456, tzinfo=timezone.utc)
    assert recovery_target(at) == "2026-12-06 08:10:00.123456+00"
    with pytest.raises(BackupError, match="no time zone"):
        recovery_target(datetime(2026, 12, 6, 8, 10))


def test_info_lists_the_stanzas_backups_oldest_first():
    info = [{"name": "other", "backup": []}, {"name": "gamemetrics", "backup": [
        {"label": "20261206-070000F", "type": "full", "timestamp": {"start": 1796540400, "stop": 1796540410},
         "info": {"size": 50_000_000, "repository": {"delta": 6_000_000, "size": 6_000_000}},
         "archive": {"start": "000000010000000000000003", "stop": "000000010000000000000003"}},
        {"label": "20261206-070000F_20261206-071000I", "type": "incr", "timestamp": {"start": 1796541000, "stop": 1796541003},
         "info": {"size": 50_100_000, "repository": {"delta": 200_000, "size": 6_100_000}}, "archive": None}]}]
    backups = parse_info(json.dumps(info), "gamemetrics")
    assert [(b.type, b.repo_size) for b in backups] == [("full", 6_000_000), ("incr", 200_000)]
    assert backups[0].started == datetime.fromtimestamp(1796540400, tz=timezone.utc)
    assert backups[1].wal_start == ""
    assert parse_info(json.dumps(info), "absent") == []

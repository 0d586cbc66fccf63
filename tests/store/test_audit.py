"""The audit log's hash chain on the real PostgreSQL: intact, an edited row, a deleted row."""

from __future__ import annotations

import pytest
import psycopg

from store import db
from store.audit import AuditLog

pytestmark = pytest.mark.integration


def fill(settings, n: int = 5) -> AuditLog:
    audit = AuditLog.of(settings)
    with db.connect(settings, autocommit=True) as conn:
        for i in range(n):
            audit.append(conn, "alice", "tokens.create", "g1", None, {"i": i, "role": "admin"})
    return audit


def test_an_untouched_chain_verifies(isolated):
    audit = fill(isolated)
    with db.connect(isolated, autocommit=True) as conn:
        report = audit.verify(conn)
    assert report.intact and report.rows == 5


def test_the_table_refuses_updates_and_deletes(isolated):
    fill(isolated, 2)
    with db.connect(isolated, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_log SET actor = 'mallory'")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM audit_log")


def test_verify_catches_an_edited_row_and_a_deleted_row(isolated):
    audit = fill(isolated)
    with db.connect(isolated, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")  # an owner could
        conn.execute("""UPDATE audit_log SET detail = '{"i": 2, "role": "viewer"}' WHERE seq = 3""")
        report = audit.verify(conn)
        assert not report.intact
        assert report.problems == ["seq 3: row_hash does not match its content (the row was edited)"]
        conn.execute("DELETE FROM audit_log WHERE seq = 2")
        problems = audit.verify(conn).problems
        assert "seq 3: rows 2..2 are missing (deleted)" in problems
        assert any(p.startswith("seq 3: prev_hash") for p in problems)


def test_a_chain_forged_without_the_key_does_not_verify(isolated):
    fill(isolated, 3)
    forger = AuditLog(b"not-the-key")
    with db.connect(isolated, autocommit=True) as conn:
        forger.append(conn, "mallory", "tokens.create", "g1", None, {"role": "admin"})
        problems = AuditLog.of(isolated).verify(conn).problems
    assert problems == ["seq 4: row_hash does not match its content (the row was edited)"]

"""A streaming replica of the local PostgreSQL (``stack up --replica``): ``pg_basebackup -R`` of the
primary into its own data directory, started as a hot standby on its own port.

The primary's ``pg_hba.conf`` from initdb already lets 127.0.0.1 replicate (trust, like the rest of
the local stack), and PostgreSQL 15 defaults to ``wal_level = replica`` and 10 WAL senders. The
standby gets its own include file on start (its port), so it can be promoted (``promote``) into a
primary of its own: the failover drill.
"""

from __future__ import annotations

from pathlib import Path

from operations.stack.postgres import SUPERUSER, LocalPostgres
from operations.stack import procs


class LocalReplica(LocalPostgres):
    def __init__(self, root: Path, primary: LocalPostgres, port: int, bin_dir: Path | None = None) -> None:
        super().__init__(root, port=port, bin_dir=bin_dir or primary._bin_dir, preload=primary._preload)
        self.primary = primary

    def _init(self) -> None:
        """A base backup of the running primary with standby.signal and primary_conninfo (-R)."""
        data = self._data_dir()
        procs.run(
            self._user_cmd([
                self._pg("pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", SUPERUSER,
                "-D", str(data), "-R", "-X", "stream", "-c", "fast",
            ]),
            f"taking a base backup of the primary on port {self.primary.port}",
        )
        self.note.write_text(str(data) + "\n")

    def promote(self) -> None:
        """Make the standby a primary (pg_ctl promote, waits until it accepts writes)."""
        procs.run(self._user_cmd([self._pg("pg_ctl"), "promote", "-D", str(self.data), "-w"]), "promoting the replica")


def replication_lag(primary_url: str) -> list[tuple[str, float, int]]:
    """(application name, replay lag in seconds, bytes not yet replayed) of each standby of the primary."""
    import psycopg

    with psycopg.connect(primary_url, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT application_name, COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::float8,"
            " COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint FROM pg_stat_replication"
        ).fetchall()
    return [(name, float(lag), int(behind)) for name, lag, behind in rows]

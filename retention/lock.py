"""One retention pass (or GDPR job) at a time per schema: a session advisory lock on its own
connection, held for the pass and released when the connection closes (also on kill -9)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from gamemetrics.settings import Settings
from retention.errors import BusyError
from store import db

_KEY = "SELECT hashtextextended('gamemetrics.retention:' || current_schema(), 0)"


@contextmanager
def retention_lock(settings: Settings, wait_s: float = 0.0) -> Iterator[None]:
    conn = db.connect(settings, autocommit=True)
    try:
        key = conn.execute(_KEY).fetchone()[0]
        deadline = time.monotonic() + wait_s
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise BusyError("another retention pass or GDPR job is running on this schema; try again when it ends")
            time.sleep(0.5)
        yield
    finally:
        conn.close()

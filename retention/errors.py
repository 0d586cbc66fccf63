"""Errors of retention, archival and GDPR.

- ``RetentionError``: base; the CLI prints it and exits 1.
  - ``ObjectStoreError``: S3 unreachable, refused, or an object missing (translated from botocore).
  - ``ArchiveMismatch``: a Parquet object does not hold what PostgreSQL held (rows or checksum);
    nothing is dropped.
  - ``BusyError``: another retention pass holds the advisory lock.
  - ``EraseFailed``: one store could not be erased; the request is marked failed with that store
    and the next pass retries it.
  - ``ReceiptInvalid``: a receipt's signature or content does not verify.
  - ``LeaseLost``: a GDPR request's lease expired and another job took it over; this job stops.
"""

from __future__ import annotations

from gamemetrics.errors import GameMetricsError


class RetentionError(GameMetricsError):
    pass


class ObjectStoreError(RetentionError):
    pass


class ArchiveMismatch(RetentionError):
    pass


class BusyError(RetentionError):
    pass


class EraseFailed(RetentionError):
    def __init__(self, store: str, detail: str) -> None:
        super().__init__(f"erasing from {store} failed: {detail}")
        self.store = store


class ReceiptInvalid(RetentionError):
    pass


class LeaseLost(RetentionError):
    """The job's lease on a GDPR request expired and another job holds it now: stop working on it."""

"""Errors of the store.

    StoreError (GameMetricsError)   the database refused an operation we rely on (a bug, a missing
    │                               migration, data it cannot hold): not retried
    ├── StoreUnavailable            the database could not be reached or dropped the connection
    │                               (down, restarting, admin shutdown, too many connections, network):
    │                               callers retry or answer 503; never a bug
    ├── StoreConflict               the transaction lost a deadlock or serialization race: run it again
    └── StatementTimeout            a statement ran past ``statement_timeout``: narrow the query

Driver errors (psycopg) are translated at the store's boundary by :func:`store.connections.translate`.
"""

from gamemetrics.errors import GameMetricsError


class StoreError(GameMetricsError):
    """The database refused an operation we rely on."""


class StoreUnavailable(StoreError):
    """The database could not be reached or dropped the connection; try again later."""


class StoreConflict(StoreError):
    """A deadlock or serialization failure rolled the transaction back; running it again is safe."""


class StatementTimeout(StoreError):
    """A statement was cancelled by ``statement_timeout``."""

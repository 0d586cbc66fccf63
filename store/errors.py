"""Errors of the store.

    StoreError (GameMetricsError)   the database refused an operation we rely on
    └── StoreUnavailable            the database could not be reached (down, restarting, network):
                                    callers retry or answer 503; never a bug

Driver errors (psycopg) are translated here, at the store's boundary, by ``store.db``.
"""

from gamemetrics.errors import GameMetricsError


class StoreError(GameMetricsError):
    """The database refused an operation we rely on."""


class StoreUnavailable(StoreError):
    """The database could not be reached or dropped the connection; try again later."""

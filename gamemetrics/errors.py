"""Errors of the platform layer (settings, local stack, store).

    GameMetricsError              base of every error this project raises on purpose
    ├── StackError                a local service could not be installed, started or reached
    └── StoreError                the database refused an operation we rely on

Third-party errors are translated at the boundary with ``raise ... from exc`` so callers catch
ours, and the message says what failed, where, and what to do next.
"""


class GameMetricsError(Exception):
    """Base class of the project's errors."""


class StackError(GameMetricsError):
    """A local service could not be installed, started or reached."""


class StoreError(GameMetricsError):
    """The database refused an operation we rely on."""

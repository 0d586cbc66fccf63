"""The base of the project's errors; each package's ``errors.py`` hangs its own below it.

    GameMetricsError              base of every error this project raises on purpose
    ├── store.errors.StoreError           the database refused or could not be reached
    ├── streams.errors.StreamsError       Kafka did not acknowledge, or could not be reached
    ├── schemas.errors.SchemaError        bytes or schemas we cannot use
    └── operations.errors.StackError      a local service could not be installed or started

Third-party errors are translated at the boundary with ``raise ... from exc`` so callers catch
ours, and the message says what failed, where, and what to do next.
"""


class GameMetricsError(Exception):
    """Base class of the project's errors."""

"""Errors of the operations package (the local stack, the demo).

    StackError (GameMetricsError)   a local service could not be installed, started or reached
    BackupError (GameMetricsError)  pgBackRest refused or failed (backup, restore, archive check)
"""

from gamemetrics.errors import GameMetricsError


class StackError(GameMetricsError):
    """A local service could not be installed, started or reached."""


class BackupError(GameMetricsError):
    """pgBackRest refused or failed: its own message is in the error."""

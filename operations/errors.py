"""Errors of the operations package (the local stack, the demo).

    StackError (GameMetricsError)   a local service could not be installed, started or reached
"""

from gamemetrics.errors import GameMetricsError


class StackError(GameMetricsError):
    """A local service could not be installed, started or reached."""

"""Errors and signals of the landing stage.

    LandingError (GameMetricsError)
    ├── Backpressure              a service the steps need (PostgreSQL, Kafka) is unavailable: the
    │                             group is not landed, nothing is released; the failure policy
    │                             holds the group and runs the same messages again after a backoff
    └── DeadLetterLimitExceeded   more than the allowed share of a window's messages failed as
                                  ``processing_error`` (a bad deploy, not bad data): the worker stops
                                  without committing them, instead of dead-lettering the topic

Steps raise ``Backpressure`` from the store's and the streams' own errors (``StoreUnavailable``,
``StoreConflict``, ``ProduceError``); only :mod:`processors.resilience` handles it.
"""

from __future__ import annotations

from gamemetrics.errors import GameMetricsError


class LandingError(GameMetricsError):
    """Base of the landing stage's errors."""


class Backpressure(LandingError):
    """A dependency is unavailable: land these messages again later; ``reason`` names the dependency."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class DeadLetterLimitExceeded(LandingError):
    """Too many messages of the window failed as processing_error: stop and page someone."""

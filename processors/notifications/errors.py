"""Errors of the notifications package.

    NotificationError (GameMetricsError)
    ├── RuleError                   a rule is malformed or refers to something that does not exist
    │                               (the CLI prints it; the loader logs it and skips the rule)
    └── DeliveryError               a channel could not deliver a notification
        ├── RetryableDeliveryError  worth another attempt: 5xx, 429, timeouts, connection refused,
        │                           SMTP 4xx; ``retry_after_s`` carries a server's Retry-After
        └── PermanentDeliveryError  another attempt would fail the same way: 4xx (not 429), SMTP 5xx,
                                    a bad recipient, a channel that is not configured

Channels translate third-party errors (httpx, smtplib, OSError) into these at their boundary with
``raise ... from exc``; ``processors.notifications.delivery`` retries the retryable ones and sends
the rest, and the retries exhausted, to ``system.dlq``.
"""

from __future__ import annotations

from gamemetrics.errors import GameMetricsError


class NotificationError(GameMetricsError):
    """Base class of the notification errors."""


class RuleError(NotificationError):
    """A notification rule is malformed or names a game that does not exist."""


class DeliveryError(NotificationError):
    """A channel could not deliver a notification."""


class RetryableDeliveryError(DeliveryError):
    """A failure that may pass on another attempt."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentDeliveryError(DeliveryError):
    """A failure that another attempt would repeat."""

"""Retry policies: exponential backoff as a frozen value. Pure.

One mechanism for every stage: notification deliveries use a bounded policy (from
``NotificationSettings``); the landing pipeline and the Kafka/PostgreSQL helpers use
``EFFECTIVELY_FOREVER`` attempts (``UNTIL_BACK`` by default): infrastructure we cannot work
without is waited for, never given up on, so a message is processed or replayed, never half-kept.
"""

from __future__ import annotations

from dataclasses import dataclass

BACKOFF_MULTIPLIER = 2.0
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_FIRST_DELAY_S = 1.0
DEFAULT_MAX_DELAY_S = 60.0
EFFECTIVELY_FOREVER = 1_000_000


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how patiently, an attempt is repeated: first_delay_s, x2 each time, capped."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    first_delay_s: float = DEFAULT_FIRST_DELAY_S
    max_delay_s: float = DEFAULT_MAX_DELAY_S

    def delay_after(self, attempt: int, retry_after_s: float | None = None) -> float:
        """The wait after failed attempt ``attempt`` (1-based); a server's Retry-After lengthens it, up to the cap."""
        delay = min(self.first_delay_s * BACKOFF_MULTIPLIER ** (attempt - 1), self.max_delay_s)
        if retry_after_s is not None:
            delay = min(max(delay, retry_after_s), self.max_delay_s)
        return delay

    @property
    def longest_wait_s(self) -> float:
        """The most one notification waits between its attempts, in total."""
        return sum(self.delay_after(attempt) for attempt in range(1, self.max_attempts))


UNTIL_BACK = RetryPolicy(max_attempts=EFFECTIVELY_FOREVER, first_delay_s=0.5, max_delay_s=10.0)

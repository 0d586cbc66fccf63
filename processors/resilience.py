"""The landing failure policy: what happens when a group of messages does not land.

    Backpressure (PostgreSQL or Kafka unavailable, raised by the steps wherever it happens)
        -> pause the group's partitions (nothing more is fetched), wait the backoff, run the same
           messages again, until they land; then resume. Nothing is released meanwhile, so no
           offset is committed. Handled here and nowhere else.
    any other exception (a bug, or data the steps did not foresee)
        -> the group is split and run message by message; the one that still fails becomes a
           ``processing_error`` dead letter, so one poison message never blocks its partition...
    ...unless that makes more than ``DeadLetterLimit.max_share`` of the last ``window_messages``
       messages processing errors: then it is a bad deploy, not bad data, and the worker stops
       (``DeadLetterLimitExceeded``: logged at error, counted in
       ``gamemetrics_landing_dead_letter_limit_stops_total``) without committing the group.

Why the messages are held and retried in place rather than the partitions seeked back: Faust's
``Consumer.pause_partitions`` only stops the fetcher; records already fetched stay in the agent's
stream buffer and are still delivered, and a ``seek`` re-delivers new message objects while the
held ones stay tracked as unacked (``wait_empty`` blocks shutdown on them, and acking them would
commit offsets that never landed), interleaved with the buffered later ones (the partition's order
is lost). Holding the group is the same "seek back" without those hazards.
"""

from __future__ import annotations

import asyncio
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import structlog

from gamemetrics import metric_defs as m
from gamemetrics.retry import RetryPolicy
from processors.errors import Backpressure, DeadLetterLimitExceeded
from processors.landing import LandingSteps, Message, Outcome, message_dead_letter
from streams.errors import ProduceError

log = structlog.get_logger("processors.resilience")

PROCESSING_ERROR = "processing_error"
TRACEBACK_CHARS = 1500


class Pauser(Protocol):
    """Stops and restarts fetching from the partitions being landed (Faust's consumer in the worker)."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class NoPause:
    """A Pauser for callers without a consumer (tests, benches)."""

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass


@dataclass(frozen=True)
class DeadLetterLimit:
    """Stop when more than ``max_share`` of the last ``window_messages`` messages are processing errors."""

    max_share: float
    window_messages: int

    @property
    def max_errors(self) -> int:
        return int(self.max_share * self.window_messages)


class ErrorWindow:
    """The verdicts (processing error or not) of the last ``window_messages`` messages."""

    def __init__(self, limit: DeadLetterLimit) -> None:
        self._limit = limit
        self._verdicts: deque[bool] = deque(maxlen=limit.window_messages)
        self._errors = 0

    def _push(self, error: bool) -> None:
        if len(self._verdicts) == self._verdicts.maxlen and self._verdicts[0]:
            self._errors -= 1
        self._verdicts.append(error)
        self._errors += error

    def landed(self, messages: int) -> None:
        for _ in range(min(messages, self._limit.window_messages)):
            self._push(False)

    def would_exceed(self) -> bool:
        """True if one more processing error would put the window over the limit."""
        dropping = len(self._verdicts) == self._verdicts.maxlen and self._verdicts[0]
        return self._errors - dropping + 1 > self._limit.max_errors

    def error(self) -> None:
        self._push(True)

    @property
    def errors(self) -> int:
        return self._errors


class FailurePolicy:
    """Runs ``LandingSteps`` until the group lands, applying the policy above."""

    def __init__(self, steps: LandingSteps, retry: RetryPolicy, limit: DeadLetterLimit, pauser: Pauser = NoPause()) -> None:
        self._steps = steps
        self._retry = retry
        self._limit = limit
        self._window = ErrorWindow(limit)
        self._pauser = pauser

    async def land(self, messages: list[Message]) -> Outcome:
        attempt = 0
        paused = False
        try:
            while True:
                try:
                    outcome = await self._steps.run(messages)
                    self._window.landed(len(messages))
                    return outcome
                except Backpressure as signal:
                    if not paused:
                        self._pauser.pause()
                        paused = True
                    attempt += 1
                    delay = self._retry.delay_after(attempt)
                    m.PIPELINE_RETRIES.labels(signal.reason).inc()
                    log.warning("landing_retry", reason=signal.reason, detail=signal.detail, retry_in_s=delay,
                                messages=len(messages), attempt=attempt)
                    await asyncio.sleep(delay)
                except DeadLetterLimitExceeded:
                    raise
                except Exception as exc:  # a bug: never crash on one message, never drop good ones
                    if len(messages) == 1:
                        return await self._poison(messages[0], exc)
                    log.error("landing_bug_isolating", error=repr(exc), messages=len(messages))
                    total = Outcome()
                    for message in messages:
                        total.add(await self.land([message]))
                    return total
        finally:
            if paused:
                self._pauser.resume()

    async def _poison(self, message: Message, exc: Exception) -> Outcome:
        if self._window.would_exceed():
            m.DEAD_LETTER_LIMIT_STOPS.inc()
            log.error("dead_letter_limit_exceeded", max_share=self._limit.max_share,
                      window_messages=self._limit.window_messages, errors_in_window=self._window.errors,
                      topic=message.topic, partition=message.partition, offset=message.offset, error=repr(exc))
            raise DeadLetterLimitExceeded(
                f"more than {self._limit.max_share:.0%} of the last {self._limit.window_messages} messages failed "
                f"as processing_error (now {message.topic}/{message.partition}@{message.offset}: {exc!r}); "
                "stopping without committing them: fix the worker (a bad deploy?) and start it again"
            ) from exc
        self._window.error()
        detail = f"{type(exc).__name__}: {exc} | {''.join(traceback.format_exception(exc)[-3:]).strip()[:TRACEBACK_CHARS]}"
        dead = [message_dead_letter(message, PROCESSING_ERROR, detail)]
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                await self._steps.publisher.dead_letters(dead)
                break
            except ProduceError as error:
                delay = self._retry.delay_after(attempt)
                m.PIPELINE_RETRIES.labels("ProduceError").inc()
                log.warning("dead_letter_retry", error=str(error), retry_in_s=delay)
                await asyncio.sleep(delay)
        return Outcome(messages=1, dead_letters={PROCESSING_ERROR: 1})

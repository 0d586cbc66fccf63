"""The landing failure policy: what happens when a group of messages does not land.

    Backpressure (PostgreSQL or Kafka unavailable, raised by the steps wherever it happens)
        -> hold the group, wait the backoff, run the same messages again until they land. Nothing
           is released meanwhile, so no offset is committed, and the agent takes nothing new: the
           stream buffer fills and Faust's fetcher blocks on it (bounded by
           ``stream_buffer_maxsize``). Handled here and nowhere else.
    any other exception (a bug, or data the steps did not foresee)
        -> the group is split and run message by message; the one that still fails becomes a
           ``processing_error`` dead letter, so one poison message never blocks its partition...
    ...unless that makes more than ``DeadLetterLimit.max_share`` of the last ``window_messages``
       messages processing errors: then it is a bad deploy, not bad data, and the worker stops
       (``DeadLetterLimitExceeded``: logged at error, counted in
       ``gamemetrics_landing_dead_letter_limit_stops_total``) without committing the group.

Why not ``Consumer.pause_partitions`` and a seek back (faust-streaming 0.15, read in the venv):
- records already fetched for a paused partition are dropped by ``Consumer.getmany`` (it yields
  only active partitions) while the fetch position has moved past them;
- when later records of that partition arrive, ``_drain_messages`` sees a hole after the last read
  offset and ``_add_gap`` records it as acked: the dropped, never-landed messages are committed
  (silent loss; the pause of the previous pipeline had this defect, a PostgreSQL restart during a
  load could lose or stall messages);
- seeking back needs the last offset handed to the stream per partition, which Faust keeps only in
  the private ``Consumer._read_offset`` (set to the seek target, not the last delivered offset,
  after a seek, so it cannot tell "nothing delivered since" apart) and in the monitor's public copy
  (``tp_read_offsets``), which survives rebalances (stale after a reassignment).
Holding the group and letting the full stream buffer block the fetcher is the same pause without
those hazards. An outage longer than ``broker_max_poll_interval`` makes the consumer leave its
group; the new owner replays the group, which is idempotent.
"""

from __future__ import annotations

import asyncio
import traceback
from collections import deque
from dataclasses import dataclass

import structlog

from gamemetrics import metric_defs as m
from gamemetrics.retry import RetryPolicy
from processors.errors import Backpressure, DeadLetterLimitExceeded
from processors.landing import LandingSteps, Message, Outcome, message_dead_letter
from streams.errors import ProduceError

log = structlog.get_logger("processors.resilience")

PROCESSING_ERROR = "processing_error"
TRACEBACK_CHARS = 1500


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

    def __init__(self, steps: LandingSteps, retry: RetryPolicy, limit: DeadLetterLimit) -> None:
        self._steps = steps
        self._retry = retry
        self._limit = limit
        self._window = ErrorWindow(limit)

    async def land(self, messages: list[Message]) -> Outcome:
        attempt = 0
        while True:
            try:
                outcome = await self._steps.run(messages)
                self._window.landed(len(messages))
                return outcome
            except Backpressure as signal:
                attempt += 1
                delay = self._retry.delay_after(attempt)
                m.PIPELINE_RETRIES.labels(signal.reason).inc()
                log.warning("landing_retry", reason=signal.reason, detail=signal.detail, retry_in_s=delay,
                            messages=len(messages), attempt=attempt)
                await asyncio.sleep(delay)  # the backoff of a held group, not a poll: nothing else is consumed
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

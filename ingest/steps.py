"""CPU of the request path by step, for ``gamemetrics_ingest_step_seconds_total{step}``.

A step's cost is the CPU time of the event-loop thread (``time.thread_time``) while the request
runs that step; the time a request is suspended on an await (Redis, Kafka's acks, more body bytes)
is not counted, since other requests run on the thread meanwhile (``StepTimer.skip``). Reading the
thread clock costs about 0.6 µs here (a system call, not the vDSO), so one request in
``sample_every`` is timed and its figures are scaled by ``sample_every``; the others get a timer
that does nothing. The totals live in plain floats and are added to the Prometheus counter once a
second (``StepClock.flush``, from a task of the app's lifespan), not on every request: an
increment of a multiprocess counter costs a few µs.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from gamemetrics import metric_defs as m

STEPS = ("auth", "body", "ratelimit", "validate", "encode", "produce", "respond")
FLUSH_INTERVAL_S = 1.0


class StepTimer:
    """Times one request: ``lap(step)`` charges the CPU since the last mark to ``step``."""

    __slots__ = ("_totals", "_scale", "_at")

    def __init__(self, totals: dict[str, float], scale: float) -> None:
        self._totals = totals
        self._scale = scale
        self._at = time.thread_time()

    def lap(self, step: str) -> None:
        now = time.thread_time()
        self._totals[step] += (now - self._at) * self._scale
        self._at = now

    def skip(self) -> None:
        """Right after an await: what ran meanwhile was other requests' work, not this one's."""
        self._at = time.thread_time()

    async def chunks(self, step: str, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``source``'s chunks, with the waits for them left out of ``step``."""
        iterator = source.__aiter__()
        while True:
            self.lap(step)
            try:
                chunk = await iterator.__anext__()
            except StopAsyncIteration:
                self.skip()
                return
            self.skip()
            yield chunk


class _Untimed(StepTimer):
    __slots__ = ()

    def __init__(self) -> None:  # noqa: D107 - no clock read
        pass

    def lap(self, step: str) -> None:
        pass

    def skip(self) -> None:
        pass

    def chunks(self, step: str, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:  # type: ignore[override]
        return source


UNTIMED = _Untimed()


class StepClock:
    """Per process: hands out a timer per request (one in ``sample_every`` timed) and flushes the totals."""

    def __init__(self, sample_every: int) -> None:
        self._every = sample_every
        self._countdown = sample_every
        self._totals = dict.fromkeys(STEPS, 0.0)
        self._counters = {step: m.INGEST_STEP_SECONDS.labels(step) for step in STEPS}

    def timer(self) -> StepTimer:
        self._countdown -= 1
        if self._countdown:
            return UNTIMED
        self._countdown = self._every
        return StepTimer(self._totals, float(self._every))

    def flush(self) -> None:
        """Add the CPU seconds gathered since the last flush to the Prometheus counter."""
        for step, seconds in self._totals.items():
            if seconds:
                self._counters[step].inc(seconds)
                self._totals[step] = 0.0

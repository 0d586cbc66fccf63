"""CPU by step: one request in N timed and scaled, waits left out, totals flushed to the counter."""

import asyncio

from prometheus_client import REGISTRY

from ingest.steps import STEPS, UNTIMED, StepClock, StepTimer


def _counted(step: str) -> float:
    return REGISTRY.get_sample_value("gamemetrics_ingest_step_seconds_total", {"step": step}) or 0.0


def _burn(seconds: float) -> None:
    import time

    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_one_request_in_n_is_timed_and_its_cpu_scaled_by_n():
    clock = StepClock(sample_every=4)
    timers = [clock.timer() for _ in range(8)]
    assert [t is not UNTIMED for t in timers] == [False, False, False, True] * 2
    before = _counted("validate")
    timer = timers[3]
    _burn(0.02)
    timer.lap("validate")
    clock.flush()
    added = _counted("validate") - before
    assert 4 * 0.02 <= added < 4 * 0.06  # scaled by 4
    clock.flush()
    assert _counted("validate") - before == added  # flushed once, not twice


def test_the_wait_on_an_await_is_not_charged_to_the_step():
    totals = dict.fromkeys(STEPS, 0.0)

    async def body_chunks():
        for _ in range(3):
            _burn(0.02)  # CPU that is not this request's: other requests run while it waits
            yield b"x"

    async def run():
        timer = StepTimer(totals, 1.0)
        received = [chunk async for chunk in timer.chunks("body", body_chunks())]
        _burn(0.01)  # this request's own work
        timer.lap("body")
        return received

    assert asyncio.run(run()) == [b"x"] * 3
    assert 0.01 <= totals["body"] < 0.03

"""Metrics of a service run as several processes: every process's samples, summed at /metrics."""

import multiprocessing
import os

from prometheus_client.parser import text_string_to_metric_families

from prometheus_client.multiprocess import mark_process_dead

from gamemetrics import metric_defs as m
from gamemetrics.exposition import MULTIPROC_ENV, MetricsExposition, multiprocess_dir


def _count_in_a_fresh_process(times: int) -> None:
    # a spawned process imports prometheus_client anew, with the serve command's directory set
    from prometheus_client import Counter, Gauge

    counter = Counter("exposition_test_requests_total", "requests")
    gauge = Gauge("exposition_test_open", "open things", multiprocess_mode="livesum")
    for _ in range(times):
        counter.inc()
    gauge.set(1)


def _value(body: bytes, name: str) -> float | None:
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    return None


def test_the_counters_of_several_processes_are_summed_and_the_directory_removed_after():
    with multiprocess_dir(workers=2) as directory:
        assert directory is not None and os.environ[MULTIPROC_ENV] == str(directory)
        spawn = multiprocessing.get_context("spawn")  # what uvicorn uses for its worker processes
        processes = [spawn.Process(target=_count_in_a_fresh_process, args=(n,)) for n in (3, 4)]
        for p in processes:
            p.start()
        for p in processes:
            p.join(60)
        exposition = MetricsExposition(directory)
        body, content_type = exposition.render()
        assert _value(body, "exposition_test_requests_total") == 7
        assert _value(body, "exposition_test_open") == 2  # livesum: one per live process
        assert content_type.startswith("text/plain")
        for p in processes:  # what each process's shutdown does (MetricsExposition.process_exit) for its pid
            mark_process_dead(p.pid, str(directory))
        body, _ = exposition.render()
        assert _value(body, "exposition_test_requests_total") == 7  # counters of dead processes stay counted
        assert _value(body, "exposition_test_open") in (None, 0.0)
    assert not directory.exists()
    assert MULTIPROC_ENV not in os.environ


def test_one_process_changes_nothing():
    with multiprocess_dir(workers=1) as directory:
        assert directory is None and MULTIPROC_ENV not in os.environ
    m.INGEST_AUTH_THROTTLED.inc()
    body, _ = MetricsExposition().render()  # the plain registry of this process
    assert _value(body, "gamemetrics_ingest_auth_throttled_total") >= 1

"""Prometheus exposition of an HTTP service, correct when it runs as several processes.

``gamemetrics serve <service> --workers N`` runs N server processes behind one port, and a scrape
lands on any one of them. With N > 1 the serve command turns on prometheus_client's multiprocess
mode (``multiprocess_dir``): before the server processes start, it makes a fresh directory and
names it in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's own switch, read by the library when
it is first imported in each process); every process then keeps its samples in files there, and
``/metrics`` (``MetricsExposition.render``) sums all of them, those of processes that died or
were restarted included (counters never go back). The directory is removed when the command ends.

Gauges in that mode are combined by their ``multiprocess_mode`` (see gamemetrics/metric_defs.py).
With one process nothing changes: the plain registry is exposed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def multiprocess_dir(workers: int) -> Iterator[Path | None]:
    """For a serve command about to start ``workers`` server processes: a fresh metrics directory in
    the environment they inherit (None and no change for one process); removed on exit."""
    if workers <= 1:
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="gamemetrics-metrics-"))
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(directory, ignore_errors=True)


@dataclass(frozen=True)
class MetricsExposition:
    """What /metrics answers: this process's registry, or the sum over the processes sharing ``directory``."""

    directory: Path | None = None

    @classmethod
    def of_this_process(cls) -> MetricsExposition:
        """Resolved once by a server process's ASGI factory at start-up (its entry point, as
        ``command_settings``): multiprocess when the serve command made a directory for it."""
        value = os.environ.get(MULTIPROC_ENV)
        return cls(Path(value) if value else None)

    def render(self) -> tuple[bytes, str]:
        """(body, content type) of a scrape."""
        if self.directory is None:
            return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.directory))
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def process_exit(self) -> None:
        """At shutdown: drop this process's live gauges (``live*`` modes); its counters stay counted."""
        if self.directory is not None:
            mark_process_dead(os.getpid(), str(self.directory))

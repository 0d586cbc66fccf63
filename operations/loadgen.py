"""Drive a running ingest service with simulated players at a target rate.

Requests carry one player's events (as a game client sends them). A request answered 429, 503,
another 5xx or not at all is retried with the same body, so the same event ids: the pipeline
must store each event once. Reports what was sent, accepted and rejected, and latency.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass, field

import httpx
import orjson
from tqdm import tqdm

from operations.simulate import Simulator

RETRYABLE = {429, 500, 502, 503, 504}


def percentile(sorted_values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of already sorted values; NaN when there are none."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


@dataclass(frozen=True)
class BatchSizes:
    """Events per request: ``20`` (fixed), ``1-100`` (uniform) or ``exp:20`` (geometric, mean 20)."""

    low: int
    high: int
    mean: float | None = None

    @classmethod
    def parse(cls, text: str) -> "BatchSizes":
        text = text.strip()
        try:
            if text.startswith("exp:"):
                mean = float(text[4:])
                if mean < 1:
                    raise ValueError
                return cls(1, 1000, mean)
            if "-" in text:
                low, high = (int(x) for x in text.split("-", 1))
                if not 1 <= low <= high:
                    raise ValueError
                return cls(low, high)
            n = int(text)
            if n < 1:
                raise ValueError
            return cls(n, n)
        except ValueError:
            raise ValueError(f"batch size {text!r}: use N, A-B or exp:MEAN with positive numbers") from None

    def draw(self, rng: random.Random) -> int:
        if self.mean is not None:
            return min(self.high, max(1, int(rng.expovariate(1 / self.mean)) + 1))
        return rng.randint(self.low, self.high)

    @property
    def average(self) -> float:
        return self.mean if self.mean is not None else (self.low + self.high) / 2


@dataclass(frozen=True)
class LoadPlan:
    url: str
    api_keys: tuple[str, ...]  # one per game
    rate: float  # events per second
    duration_s: float
    players: int = 1000  # per game
    batch_sizes: BatchSizes = BatchSizes(20, 20)
    concurrency: int = 32
    max_attempts: int = 10
    seed: int = 0


@dataclass
class LoadReport:
    requests: int = 0
    events_sent: int = 0
    accepted: int = 0
    rejected: int = 0
    failed_events: int = 0
    retries: int = 0
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    def percentile(self, p: float) -> float:
        return percentile(sorted(self.latencies_s), p)

    def summary(self) -> str:
        rate = self.accepted / self.elapsed_s if self.elapsed_s else 0.0
        return (
            f"sent {self.events_sent} events in {self.requests} requests over {self.elapsed_s:.1f}s: "
            f"accepted {self.accepted} ({rate:,.0f}/s), rejected {self.rejected}, "
            f"failed after retries {self.failed_events}, retries {self.retries}; "
            f"latency p50 {self.percentile(50) * 1000:.1f} ms, p99 {self.percentile(99) * 1000:.1f} ms"
        )


async def _send(client: httpx.AsyncClient, plan: LoadPlan, key: str, body: bytes, count: int, report: LoadReport) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    for attempt in range(plan.max_attempts):
        started = time.perf_counter()
        try:
            response = await client.post("/v1/events", content=body, headers=headers)
        except httpx.HTTPError:
            response = None
        if response is not None and response.status_code == 200:
            report.latencies_s.append(time.perf_counter() - started)
            result = response.json()
            report.accepted += result["accepted"]
            report.rejected += len(result["rejected"])
            return
        if response is not None and response.status_code not in RETRYABLE:
            report.failed_events += count
            return
        report.retries += 1
        retry_after = float(response.headers.get("retry-after", 0.5)) if response is not None else 0.5
        await asyncio.sleep(min(retry_after, 2.0 ** attempt * 0.1))
    report.failed_events += count


async def run_load(plan: LoadPlan, progress: bool = True) -> LoadReport:
    report = LoadReport()
    sims = [Simulator(plan.players, seed=plan.seed * 1000 + g) for g in range(len(plan.api_keys))]
    rng = random.Random(plan.seed)
    total = int(plan.rate * plan.duration_s)
    bar = tqdm(total=total, unit="ev", disable=not progress, desc="load", mininterval=0.5 if sys.stderr.isatty() else 5.0)
    semaphore = asyncio.Semaphore(plan.concurrency)
    tasks: set[asyncio.Task[None]] = set()
    headers = {"Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=plan.concurrency, max_keepalive_connections=plan.concurrency)
    async with httpx.AsyncClient(base_url=plan.url, headers=headers, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        sent = 0
        request = 0
        while sent < total:
            due = start + sent / plan.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            game = request % len(plan.api_keys)
            request += 1
            count = min(plan.batch_sizes.draw(rng), total - sent)
            events = sims[game].next_events(count, int(time.time() * 1000))
            body = orjson.dumps({"sent_at": int(time.time() * 1000), "events": events})
            await semaphore.acquire()

            async def one(key: str = plan.api_keys[game], body: bytes = body, count: int = len(events)) -> None:
                try:
                    await _send(client, plan, key, body, count, report)
                finally:
                    semaphore.release()
                    bar.update(count)

            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += len(events)
            report.events_sent += len(events)
            report.requests += 1
        if tasks:
            await asyncio.gather(*tasks)
        report.elapsed_s = time.perf_counter() - start
    bar.close()
    return report

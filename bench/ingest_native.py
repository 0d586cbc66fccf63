"""The request's per-event work in-process, CPU µs per event: the native call (ingest/native.py:
parse + validate + suppress + group + Avro in gamemetrics_avro) against the Python path it replaces
(orjson envelope, ``validate_batch``, ``group_by_player``, the native Avro codec). No HTTP, no Kafka.

    python bench/ingest_native.py [--batch-sizes 20,100] [--requests 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import make_bodies  # noqa: E402
from ingest.batching import group_by_player  # noqa: E402
from ingest.body import parse_envelope  # noqa: E402
from ingest.native import native_ingest  # noqa: E402
from ingest.validation import DEFAULT_LIMITS, validate_batch  # noqa: E402
from schemas.catalog import load_catalog  # noqa: E402
from schemas.ids import CatalogIds  # noqa: E402
from schemas.wire import INSTALLED, AvroSerializer  # noqa: E402

MAX_EVENTS, MAX_BODY = 1000, 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="20,100")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    serializer = AvroSerializer(CatalogIds(), "player.events.raw", load_catalog().latest("EventBatch"), logical=False)
    native = native_ingest(INSTALLED, serializer, DEFAULT_LIMITS, MAX_EVENTS, MAX_BODY)
    if native is None:
        sys.exit("gamemetrics_avro with IngestRules is not installed")

    def python_path(body: bytes, now: int) -> int:
        envelope = parse_envelope(body, False, MAX_BODY, MAX_EVENTS)
        accepted, _ = validate_batch(envelope.events, now, envelope.sent_at_ms)
        batches = group_by_player(accepted, "bench", now, envelope.sent_at_ms, "ab" * 16)
        return len([(key, serializer.encode(b)) for key, b in batches])

    def native_path(body: bytes, now: int) -> int:
        return len(native.run(body, "bench", now, "ab" * 16, None).messages)  # type: ignore[union-attr]

    print(f"load average {os.getloadavg()[0]:.2f}")
    for size in (int(s) for s in args.batch_sizes.split(",")):
        bodies = make_bodies(size, 200, seed=7)
        now = int(time.time() * 1000)
        for name, run in (("python", python_path), ("native", native_path), ("python", python_path), ("native", native_path)):
            for body in bodies[:50]:
                run(body, now)
            started = time.process_time()
            for i in range(args.requests):
                run(bodies[i % len(bodies)], now)
            cpu = time.process_time() - started
            print(f"batch {size:>4} {name}: {cpu / (args.requests * size) * 1e6:6.2f} µs CPU/event", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""The embedded vector engine, measured: qdrant-edge-py (the Qdrant engine in-process) against
qdrant-client local mode and a Qdrant server (REST and gRPC), same data, same queries.

    python -m bench.vector_engines [--sizes 10000,100000] [--engines edge,local,server] [--queries 300]

For each engine and size: N player points (64 dims, COSINE, payload player_id / platform (5 values) /
country (20 values), keyword-indexed where the engine has indexes), written in batches of 1,000:
  - write throughput (points/s, until the write is durable: flushed / wait=True),
  - start-up: opening the store that holds N points (a fresh process's first query included),
  - filtered search (platform = X AND country = Y, top 10) p50 / p99 over --queries queries,
  - memory: the resident set the engine adds (in-process: this process's RSS growth; server: its RSS).
Local mode at sizes over --local-persistent-max runs in memory (``:memory:``): its persistent
folder writes one SQLite row per point and is not where its search time goes. Prints `uptime`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIMS = 64
BATCH = 1_000
PLATFORMS = ["ios", "android", "pc", "switch", "web"]
COUNTRIES = [f"C{i:02d}" for i in range(20)]


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def data(n: int, seed: int = 0) -> tuple[np.ndarray, list[dict]]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIMS)).astype(np.float32)
    payloads = [{"player_id": f"p{i}", "platform": PLATFORMS[i % 5], "country": COUNTRIES[(i // 5) % 20]}
                for i in range(n)]
    return vectors, payloads


def queries(count: int, seed: int = 1) -> list[tuple[list[float], str, str]]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(DIMS).astype(np.float32).tolist(), PLATFORMS[i % 5], COUNTRIES[(i * 7) % 20])
            for i in range(count)]


# -- qdrant-edge-py ----------------------------------------------------------------------------

def bench_edge(n: int, vectors: np.ndarray, payloads: list[dict], qs, folder: Path) -> dict:
    import qdrant_edge as qe

    config = qe.EdgeConfig(vectors={"": qe.EdgeVectorParams(size=DIMS, distance=qe.Distance.Cosine)})
    before = rss_mb()
    shard = qe.EdgeShard.create(str(folder), config)
    for field in ("player_id", "platform", "country"):
        shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
    started = time.perf_counter()
    for s in range(0, n, BATCH):
        shard.update(qe.UpdateOperation.upsert_points(
            [qe.Point(i, vectors[i].tolist(), payloads[i]) for i in range(s, min(s + BATCH, n))]))
    shard.flush()
    write = n / (time.perf_counter() - started)
    shard.optimize()  # builds the HNSW index, as the server's optimizer does in the background
    shard.close()
    del shard
    gc.collect()
    started = time.perf_counter()
    shard = qe.EdgeShard.load(str(folder))
    vector, platform, country = qs[0]
    shard.query(_edge_request(qe, vector, platform, country))
    start_s = time.perf_counter() - started
    times = []
    for vector, platform, country in qs:
        t = time.perf_counter()
        shard.query(_edge_request(qe, vector, platform, country))
        times.append(time.perf_counter() - t)
    memory = rss_mb() - before
    shard.close()
    return {"write": write, "start_s": start_s, "p50": pct(times, 50), "p99": pct(times, 99), "mem": memory}


def _edge_request(qe, vector, platform, country):
    return qe.QueryRequest(limit=10, query=qe.Query.Nearest(vector), with_payload=["player_id"], filter=qe.Filter(
        must=[qe.FieldCondition("platform", match=qe.MatchValue(platform)),
              qe.FieldCondition("country", match=qe.MatchValue(country))]))


# -- qdrant-client (local mode, or a server) ----------------------------------------------------

async def bench_client(n: int, vectors: np.ndarray, payloads: list[dict], qs, make_client, indexed: bool,
                       server_pid: int | None = None, reopen: bool = True) -> dict:
    from qdrant_client import models

    before = rss_mb(server_pid or "self")
    client = make_client()
    await client.create_collection("players", vectors_config=models.VectorParams(size=DIMS, distance=models.Distance.COSINE))
    if indexed:
        for field in ("player_id", "platform", "country"):
            await client.create_payload_index("players", field, field_schema=models.PayloadSchemaType.KEYWORD, wait=True)
    started = time.perf_counter()
    for s in range(0, n, BATCH):
        e = min(s + BATCH, n)
        await client.upsert("players", models.Batch(ids=list(range(s, e)), vectors=vectors[s:e].tolist(),
                                                     payloads=payloads[s:e]), wait=True)
    write = n / (time.perf_counter() - started)
    if server_pid is not None:  # until the optimizer built the index
        while (await client.get_collection("players")).status != models.CollectionStatus.GREEN:
            await asyncio.sleep(0.2)
    started = time.perf_counter()
    if reopen:  # start-up: a new client on what is stored (an in-memory store cannot be reopened)
        await client.close()
        gc.collect()
        started = time.perf_counter()
        client = make_client()

    def flt(platform, country):
        return models.Filter(must=[models.FieldCondition(key="platform", match=models.MatchValue(value=platform)),
                                   models.FieldCondition(key="country", match=models.MatchValue(value=country))])

    vector, platform, country = qs[0]
    await client.query_points("players", query=vector, query_filter=flt(platform, country), limit=10)
    start_s = time.perf_counter() - started
    times = []
    for vector, platform, country in qs:
        t = time.perf_counter()
        await client.query_points("players", query=vector, query_filter=flt(platform, country), limit=10,
                                  with_payload=["player_id"])
        times.append(time.perf_counter() - t)
    memory = rss_mb(server_pid or "self") - before
    await client.delete_collection("players")
    await client.close()
    return {"write": write, "start_s": start_s, "p50": pct(times, 50), "p99": pct(times, 99), "mem": memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--engines", default="edge,local,server,server-grpc")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--local-persistent-max", type=int, default=10_000)
    args = parser.parse_args()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), file=sys.stderr)
    engines = args.engines.split(",")
    server = None
    if any(e.startswith("server") for e in engines):
        from operations.stack.qdrant import LocalQdrant, find_bundle
        from tests.services import free_port

        server = LocalQdrant(find_bundle(), Path(tempfile.mkdtemp(prefix="bench-engines-qdrant-")), free_port(), free_port())
        server.start()
    rows = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            vectors, payloads = data(n)
            qs = queries(args.queries)
            for engine in engines:
                folder = Path(tempfile.mkdtemp(prefix=f"bench-engines-{engine}-"))
                try:
                    if engine == "edge":
                        r = bench_edge(n, vectors, payloads, qs, folder)
                        label = "qdrant-edge-py 0.9 (in-process)"
                    elif engine == "local":
                        from qdrant_client import AsyncQdrantClient

                        persistent = n <= args.local_persistent_max
                        r = asyncio.run(bench_client(n, vectors, payloads, qs, (lambda: AsyncQdrantClient(path=str(folder)))
                                                     if persistent else (lambda: AsyncQdrantClient(location=":memory:")),
                                                     indexed=False, reopen=persistent))
                        label = "qdrant-client local mode" + ("" if persistent else " (in memory)")
                        if not persistent:
                            r["start_s"] = float("nan")  # an in-memory store starts empty: no start-up to measure
                    else:
                        from qdrant_client import AsyncQdrantClient

                        grpc = engine == "server-grpc"
                        pid = int((server.data_dir / "qdrant.pid").read_text())
                        r = asyncio.run(bench_client(n, vectors, payloads, qs, lambda: AsyncQdrantClient(
                            url=server.url, prefer_grpc=grpc, grpc_port=server.grpc_port, check_compatibility=False),
                            indexed=True, server_pid=pid))
                        label = "Qdrant server 1.18.3, " + ("gRPC" if grpc else "REST")
                        r["start_s"] = float("nan")  # a server is started once; the client connects in ms
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                rows.append((n, label, r))
                print(f"{n:>8,} {label:<40} write {r['write']:>9,.0f} pts/s  start {r['start_s']:.2f} s  "
                      f"p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  mem +{r['mem']:.0f} MB", file=sys.stderr)
    finally:
        if server is not None:
            server.stop()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print("| points | engine | write (points/s) | start-up (s) | filtered top-10 p50 (ms) | p99 (ms) | memory added (MB) |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n, label, r in rows:
        start = "—" if r["start_s"] != r["start_s"] else f"{r['start_s']:.2f}"
        print(f"| {n:,} | {label} | {r['write']:,.0f} | {start} | {r['p50']:.2f} | {r['p99']:.2f} | {r['mem']:.0f} |")


if __name__ == "__main__":
    main()

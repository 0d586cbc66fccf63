"""Recommender benchmark and offline evaluation, on simulated players with latent tastes.

    python -m bench.recommender [--players 100000] [--items 2000] [--qdrant embedded|local|server|both]
                                [--grpc] [--write-vectors 1000000] [--requests 2000] [--concurrency 32]
                                [--evaluate-only] [--skip-evaluation] [--record]
    (also: gamemetrics bench recommender ...)

Prints the load average (before and after: the figures mean something on a quiet machine only) and,
for the embedded store (``embedded``: Qdrant's engine in-process, the default; ``local``: qdrant-client
local mode) and/or a Qdrant server (the bundle of ../shared/qdrant, started on free ports, or
GAMEMETRICS_QDRANT_URL; ``--grpc``: the service and the writes talk gRPC), ``both`` = embedded + server:
  - offline evaluation (time split at 7 days before the end): recall@10, NDCG@10, coverage of the
    model vs popularity vs random;
  - training: matrix + BM25 + SVD seconds, then writing the vectors into Qdrant (seconds);
  - the API (`gamemetrics serve recommender`, a real process, over HTTP, from a minimal keep-alive client):
    p50/p99 of a cache miss and a cache hit (one client), requests/s and p50/p99 at --concurrency
    clients on hits, and on misses;
  - --write-vectors N: writing N player points (payloads like training's) into a new collection, points/s;
  - fold-in updates/s (FoldIn.apply on processed batches of 100 players, 3 purchases each);
  - where local mode stops serving: p99 of a similar-players query (a scan of the players
    collection) by collection size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np

NOW_MS = int(time.time() * 1000)
DAY = 86_400_000


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q)) if values else float("nan")


def history(players: int, items: int, seed: int = 1):
    from operations.simulate import Tastes, simulate_history

    return simulate_history(players, Tastes(items=items, groups=max(4, items // 50), favourites=30, seed=seed),
                            now_ms=NOW_MS, seed=seed)


def run_evaluation(hist, factors: int) -> tuple[list[str], dict]:
    from operations.history import history_columns
    from recommender.evaluate import evaluate

    started = time.perf_counter()
    result = evaluate(history_columns(hist), NOW_MS - 7 * DAY, k=10, factors=factors)
    took = time.perf_counter() - started
    model, popular = result.by_method("model"), result.by_method("popularity")
    lines = [f"offline evaluation: {result.train_interactions:,} training interactions, {result.test_players:,} test "
             f"players, {result.catalog:,} items, factors {factors} ({took:.1f} s)", "", "```", result.table(), "```",
             f"model / popularity recall@10: {model.recall / popular.recall:.2f}x"]
    return lines, {"ratio": model.recall / popular.recall}


async def publish_model(settings, rec, game_id: str, hist) -> tuple[object, float, float]:
    from operations.history import history_columns, history_segments
    from recommender.training import fit, publish
    from recommender.vectors import VectorStore

    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    trained = fit(history_columns(hist), history_segments(hist), rec, game_id, now, now - timedelta(days=60))
    fit_s = time.perf_counter() - started
    store = VectorStore.open(settings, rec)
    started = time.perf_counter()
    try:
        await publish(store, trained, rec, show_progress=True)
    finally:
        await store.close()
    return trained, fit_s, time.perf_counter() - started


class RawClient:
    """A minimal HTTP/1.1 keep-alive client (GET, Content-Length bodies): the load generator must cost far
    less than the server it measures, on the same 2 cores; httpx costs ~1 ms of CPU a request."""

    def __init__(self, url: str, token: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.headers = f"Host: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()

    async def connect(self):
        return await asyncio.open_connection(self.host, self.port)

    async def get(self, conn, path: str) -> tuple[int, dict[str, str], bytes]:
        reader, writer = conn
        writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.headers)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return int(head[0].split()[1]), headers, body


async def load_api(url: str, game_id: str, token: str, players: list[str], concurrency: int) -> dict[str, float]:
    client = RawClient(url, token)
    out: dict[str, float] = {}

    def path(player: str) -> str:
        return f"/v1/recommendations/{player}?game_id={game_id}&k=10"

    async def one(conn, player: str) -> tuple[float, str]:
        started = time.perf_counter()
        status, headers, body = await client.get(conn, path(player))
        if status != 200:
            raise RuntimeError(f"{status}: {body[:200]!r}")
        return time.perf_counter() - started, headers["x-cache"]

    conn = await client.connect()
    half = len(players) // 2
    misses = [await one(conn, p) for p in players[:half]]  # first asks: misses
    hits = [await one(conn, p) for p in players[:half]]  # the same again: hits
    conn[1].close()
    out["miss_p50"], out["miss_p99"] = pct([t for t, _ in misses], 50), pct([t for t, _ in misses], 99)
    out["hit_p50"], out["hit_p99"] = pct([t for t, _ in hits], 50), pct([t for t, _ in hits], 99)
    out["hit_ratio"] = sum(c == "hit" for _, c in hits) / len(hits)

    async def blast(chosen: list[str], what: str) -> float:
        queue = list(chosen)
        times: list[float] = []

        async def worker() -> None:
            conn = await client.connect()
            try:
                while queue:
                    t, _ = await one(conn, queue.pop())
                    times.append(t)
            finally:
                conn[1].close()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        took = time.perf_counter() - started
        out[f"{what}_loaded_p50"], out[f"{what}_loaded_p99"] = pct(times, 50), pct(times, 99)
        return len(chosen) / took

    out["hit_rps"] = await blast([random.choice(players[:half]) for _ in range(len(players) * 5)], "hit")
    out["miss_rps"] = await blast(players[half:], "miss")
    return out


async def write_rate(settings, rec, n: int, history_items: int = 20) -> float:
    """Vectors/s of writing ``n`` player points (64 dims, a payload like training's) into a new collection."""
    from recommender.training import player_payload
    from recommender.vectors import VectorStore, point_id

    store = VectorStore.open(settings, rec)
    rng = np.random.default_rng(0)
    try:
        await store.create_model_collections("bench-write", "mwrite", rec.factors)
        collection = store.names.collection("bench-write", "players", "mwrite")
        vectors = rng.standard_normal((n, rec.factors)).astype(np.float32)
        history = {f"item-{i}": 1.0 / (i + 1) for i in range(history_items)}
        ids = [point_id("bench-write", f"p{i}") for i in range(n)]
        payloads = [player_payload("bench-write", f"p{i}", "mwrite", history, ["item-1"], ("ios", "DE"), NOW_MS)
                    for i in range(n)]
        started = time.perf_counter()
        await store.upsert(collection, ids, vectors, payloads)
        return n / (time.perf_counter() - started)
    finally:
        await store.close()


async def fold_in_rate(settings, rec, game_id: str, players: list[str], items: list[str], rounds: int = 10) -> float:
    from recommender.cache import AnswerCache
    from recommender.foldin import FoldIn
    from recommender.vectors import VectorStore

    store = VectorStore.open(settings, rec)
    cache = AnswerCache.connect(settings.redis_url, store.names.namespace, rec)
    try:
        fold = FoldIn(store, cache, rec)
        await fold.basis(game_id)
        done = 0
        started = time.perf_counter()
        for r in range(rounds):
            batches = []
            for p in random.sample(players, 100):
                now = int(time.time() * 1000)
                events = [{"event": {"event_type": "purchase", "player_id": p, "event_time": now, "ts": now,
                                     "platform": "ios", "country": "DE",
                                     "properties": {"item_id": random.choice(items)}}, "revenue_usd": 0.99}
                          for _ in range(3)]
                batches.append({"batch_id": f"bench-{r}-{p}-{now}", "game_id": game_id, "player_id": p,
                                "received_at": now, "processed_at": now + 10_000, "events": events})
            done += len(await fold.apply(batches))
        return done / (time.perf_counter() - started)
    finally:
        await cache.close()
        await store.close()


async def local_mode_limit(sizes: list[int], factors: int, queries: int = 200) -> list[tuple[int, float, float, float]]:
    """(points, upsert points/s, p50 ms, p99 ms) of a similar-players query against local mode by collection
    size. The collection is in memory (``:memory:``): a persistent folder writes one SQLite transaction
    per point (~100 points/s here, measured separately), which would make large sizes take hours; the
    search itself is the same in-memory brute force either way."""
    from qdrant_client import AsyncQdrantClient, models

    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        if True:
            client = AsyncQdrantClient(location=":memory:")
            started = time.perf_counter()
            await client.create_collection("p", vectors_config=models.VectorParams(size=factors, distance=models.Distance.COSINE))
            vectors = rng.standard_normal((n, factors)).astype(np.float32)
            for start in range(0, n, 2000):
                await client.upsert("p", models.Batch(ids=list(range(start, min(start + 2000, n))),
                                                      vectors=vectors[start:start + 2000].tolist(),
                                                      payloads=[{"player_id": str(i)} for i in range(start, min(start + 2000, n))]))
            load_s = n / (time.perf_counter() - started)
            times = []
            for i in range(queries):
                started = time.perf_counter()
                await client.query_points("p", query=vectors[i].tolist(), limit=11)  # as search_players: k + 1, no filter
                times.append(time.perf_counter() - started)
            await client.close()
            rows.append((n, load_s, pct(times, 50), pct(times, 99)))
            print(f"  local mode, {n:,} points: upsert {load_s:,.0f} points/s, query p50 {rows[-1][2]:.1f} ms, p99 {rows[-1][3]:.1f} ms",
                  file=sys.stderr)
    return rows


async def hit_cpu(settings, rec, requests: int = 3_000) -> dict[str, float]:
    """CPU µs per cache hit in this process (the ASGI app called directly: no HTTP server, no client; the
    Redis GET included), with the fast path (recommender/fast.py) and with it passed through to FastAPI."""
    from gamemetrics.settings import TokenSettings
    from gamemetrics.tokens import issue_token
    from recommender import fast
    from recommender.app import Services, create_app
    from recommender.cache import AnswerCache
    from recommender.service import Recommender
    from recommender.vectors import VectorStore
    from tests.recommender.helpers import train_simulated

    tokens = TokenSettings(jwt_secret="bench-secret-bench-secret-bench-secret-0123")
    store = VectorStore.open(settings, rec)
    cache = AnswerCache.connect(settings.redis_url, store.names.namespace, rec, one_process=True)
    out: dict[str, float] = {}
    try:
        trained = await train_simulated(store, "hitcpu", players=300, rec=rec)
        services = Services(settings, rec, tokens, store, cache, Recommender(store, cache, rec))
        app = create_app(settings, rec, tokens, services)
        app.state.services = services
        headers = {"Authorization": "Bearer " + issue_token(tokens, "analyst", ["hitcpu"], timedelta(hours=1))}
        player = trained.matrix.player_ids[0]
        real = fast.FastHits._hit
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": f"/v1/recommendations/{player}", "raw_path": f"/v1/recommendations/{player}".encode(),
                 "query_string": b"game_id=hitcpu", "root_path": "", "server": ("r", 80), "client": ("c", 1),
                 "headers": [(b"host", b"r"), (b"authorization", headers["Authorization"].encode())]}

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        for label in ("fast path", "FastAPI"):
            if label == "FastAPI":
                async def passthrough(self, scope):  # noqa: ANN001 - the bench's switch
                    return None
                fast.FastHits._hit = passthrough
            for _ in range(50):
                sent.clear()
                await app(dict(scope), receive, send)
            assert dict(sent[0]["headers"]).get(b"x-cache") == b"hit", sent
            cpu = time.process_time()
            for _ in range(requests):
                await app(dict(scope), receive, send)
            out[label] = (time.process_time() - cpu) / requests * 1e6
            sent.clear()
        fast.FastHits._hit = real
        return out
    finally:
        await cache.close()
        await store.close()


def bench_mode(mode: str, base, rec, hist, args, server_url: str | None) -> list[str]:
    from gamemetrics.settings import TokenSettings
    from gamemetrics.tokens import issue_token
    from tests.services import running_service

    state = Path(tempfile.mkdtemp(prefix=f"bench-rec-{mode}-"))
    settings = base.model_copy(update={"qdrant_url": server_url or "", "state_dir": state,
                                       "database_schema": f"bench_rec_{mode}"})
    engine = "local" if mode == "local" else "edge"
    rec = rec.model_copy(update={"embedded_engine": engine})
    written = asyncio.run(write_rate(settings, rec, args.write_vectors)) if args.write_vectors else None
    game_id = f"bench-{mode}"
    trained, fit_s, publish_s = asyncio.run(publish_model(settings, rec, game_id, hist))
    players = list(trained.matrix.player_ids)
    random.seed(0)
    chosen = random.sample(players, args.requests)
    secret = "bench-secret-bench-secret-bench-secret-0123"
    token = issue_token(TokenSettings(jwt_secret=secret), "analyst", [game_id], timedelta(hours=1))
    env = {"GAMEMETRICS_GRAPHQL_JWT_SECRET": secret, "GAMEMETRICS_RECOMMENDER_FACTORS": str(rec.factors),
           "GAMEMETRICS_RECOMMENDER_FOLD_IN_IN_API": "off", "GAMEMETRICS_RECOMMENDER_EMBEDDED_ENGINE": engine,
           "GAMEMETRICS_RECOMMENDER_QDRANT_PREFER_GRPC": str(rec.qdrant_prefer_grpc).lower(),
           "GAMEMETRICS_RECOMMENDER_QDRANT_GRPC_PORT": str(rec.qdrant_grpc_port)}
    started = time.perf_counter()
    with running_service(["serve", "recommender"], settings, state / "recommender.log",
                         lambda r: r.status_code == 200, "/readyz", env) as url:
        ready_s = time.perf_counter() - started
        figures = asyncio.run(load_api(url, game_id, token, chosen, args.concurrency))
    items = [i for i, k in zip(trained.matrix.item_ids, trained.matrix.item_kinds) if k == "item"]
    folds = asyncio.run(fold_in_rate(settings, rec, game_id, players, items))
    label = {"embedded": "embedded (qdrant-edge-py, in-process)", "local": "qdrant-client local mode"}.get(
        mode, f"Qdrant server 1.18.3 ({server_url}, {'gRPC' if rec.qdrant_prefer_grpc else 'REST'})")
    row = (f"| {label} | {figures['hit_p50']:.1f} / {figures['hit_p99']:.1f} ms | {figures['miss_p50']:.1f} / "
           f"{figures['miss_p99']:.1f} ms | {figures['hit_rps']:,.0f} (p99 {figures['hit_loaded_p99']:.1f} ms), "
           f"{figures['miss_rps']:,.0f} (p99 {figures['miss_loaded_p99']:.1f} ms) | {publish_s:.1f} s | "
           + (f"{written:,.0f} points/s ({args.write_vectors / written:.0f} s) | " if written else "— | ")
           + f"{folds:,.0f} |")
    print(row)
    return [
        f"**{label}**, {len(players):,} players x {len(items):,} store items ({trained.matrix.shape[1]:,} columns):",
        f"- training: matrix + BM25 + SVD {fit_s:.1f} s (SVD {trained.metrics['train_seconds']:.1f} s), "
        f"writing vectors {publish_s:.1f} s; service ready in {ready_s:.1f} s",
        f"- cache miss p50 {figures['miss_p50']:.1f} ms / p99 {figures['miss_p99']:.1f} ms; cache hit p50 "
        f"{figures['hit_p50']:.1f} ms / p99 {figures['hit_p99']:.1f} ms (one client, HTTP, JWT checked; hits {figures['hit_ratio']:.0%})",
        f"- {args.concurrency} concurrent clients: {figures['hit_rps']:,.0f} requests/s on hits, "
        f"{figures['miss_rps']:,.0f} requests/s on misses",
        f"- fold-in: {folds:,.0f} player updates/s (batches of 100 players, 3 purchases each; upsert + invalidate + new top 10)",
        *([f"- writing {args.write_vectors:,} player vectors: {written:,.0f} points/s ({args.write_vectors / written:.0f} s)"]
          if written else []),
        f"- {args.concurrency} clients, latency under load: hits p50 {figures['hit_loaded_p50']:.1f} / p99 "
        f"{figures['hit_loaded_p99']:.1f} ms, misses p50 {figures['miss_loaded_p50']:.1f} / p99 {figures['miss_loaded_p99']:.1f} ms",
        "", TABLE_HEAD, row,
    ]


TABLE_HEAD = ("| store | hit p50 / p99 (1 client) | miss p50 / p99 (1 client) | 32 clients: hits/s, misses/s | "
              "training's vector write | --write-vectors | fold-in updates/s |\n|---|---|---|---|---|---|---|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--qdrant", choices=["embedded", "local", "server", "both"], default="both")
    parser.add_argument("--grpc", action="store_true", help="the server over gRPC (service and writes)")
    parser.add_argument("--write-vectors", type=int, default=0, help="also time writing this many player vectors")
    parser.add_argument("--requests", type=int, default=2_000, help="distinct players asked (half misses then hits)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--limit-sizes", default="",
                        help="players collection sizes for the local-mode limit ('' to skip)")
    parser.add_argument("--hit-cpu", action="store_true", help="only: CPU per cache hit, fast path vs FastAPI")
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--skip-evaluation", action="store_true")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()

    from bench.common import append_results
    from gamemetrics.logs import configure_logging
    from gamemetrics.settings import load_settings
    from recommender.settings import RecommenderSettings

    rec = RecommenderSettings(factors=args.factors)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (quiet machine: < 0.5)")
    configure_logging(load_settings(log_level="warning"))
    if args.hit_cpu:
        state = Path(tempfile.mkdtemp(prefix="bench-rec-hitcpu-"))
        figures = asyncio.run(hit_cpu(load_settings(state_dir=state, database_schema="bench_rec_hitcpu"),
                                      rec.model_copy(update={"factors": 16})))
        print(" | ".join(f"{k}: {v:,.0f} µs CPU per hit" for k, v in figures.items()))
        return
    started = time.perf_counter()
    hist = history(args.players, args.items)
    print(f"simulated {len(hist):,} events of {args.players:,} players in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    lines = [f"Simulated: {args.players:,} players, {args.items:,} items, {len(hist):,} events over 60 days "
             f"(latent taste groups; operations/simulate.py). Machine: 2 cores shared with six other engineers' "
             f"work (load average {os.getloadavg()[0]:.0f}): figures are under contention.", ""]
    if not args.skip_evaluation:
        eval_lines, _ = run_evaluation(hist, args.factors)
        lines += eval_lines + [""]
        print("\n".join(eval_lines))
    if not args.evaluate_only:
        base = load_settings()
        modes = ["embedded", "server"] if args.qdrant == "both" else [args.qdrant]
        server = None
        for mode in modes:
            url = None
            if mode == "server":
                url = base.qdrant_url or None
                if url is None:
                    from operations.stack.qdrant import LocalQdrant, find_bundle
                    from tests.services import free_port

                    bundle = find_bundle()
                    if bundle is None:
                        lines.append("Qdrant server: no bundle in ../shared/qdrant and GAMEMETRICS_QDRANT_URL unset: skipped")
                        continue
                    server = LocalQdrant(bundle, Path(tempfile.mkdtemp(prefix="bench-qdrant-")), free_port(), free_port())
                    url = server.start()
            mode_rec = rec
            if mode == "server" and args.grpc:
                grpc_port = server.grpc_port if server is not None else rec.qdrant_grpc_port
                mode_rec = rec.model_copy(update={"qdrant_prefer_grpc": True, "qdrant_grpc_port": grpc_port})
            try:
                block = bench_mode(mode, base, mode_rec, hist, args, url)
            finally:
                if server is not None and mode == "server":
                    server.stop()
            print("\n".join(block))
            lines += block + [""]
        sizes = [int(s) for s in args.limit_sizes.split(",") if s]
        if sizes:
            rows = asyncio.run(local_mode_limit(sizes, args.factors))
            table = ["Local mode by players collection size (similar-players query = a brute-force scan, 64 dims; 200 queries; in memory):", "",
                     "| points | upsert, in memory (points/s) | p50 ms | p99 ms |", "|---:|---:|---:|---:|"]
            table += [f"| {n:,} | {load:,.0f} | {p50:.1f} | {p99:.1f} |" for n, load, p50, p99 in rows]
            print("\n".join(table))
            lines += table
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.record:
        append_results("Recommender (bench/recommender.py)", lines)


if __name__ == "__main__":
    main()

"""What the web framework alone costs per request: one POST /v1/events-like request through a
FastAPI route, a plain Starlette route, and a bare ASGI callable in front of the app (the way
ingest/app.py serves it), called in-process (no HTTP, no Kafka), CPU µs per request. Then what
timing the steps of a request costs (ingest/steps.py): one request in 16 timed (the default), and
every request timed.

    python bench/ingest_route.py [--requests 5000]

The handler is the same trivial one each time (read the body, answer a fixed JSON), so the
differences are the framework's own layers: routing, dependency handling, middleware.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b"x" * 300
SCOPE = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "path": "/v1/events",
    "raw_path": b"/v1/events", "root_path": "", "scheme": "http", "query_string": b"",
    "headers": [(b"host", b"x"), (b"authorization", b"Bearer k"), (b"content-type", b"application/json"),
                (b"content-length", b"300")],
    "client": ("127.0.0.1", 5), "server": ("127.0.0.1", 80), "state": {},
}


async def handler(request: Request) -> Response:
    body = b""
    async for chunk in request.stream():
        body += chunk
    return Response(b'{"accepted":1,"rejected":[]}', media_type="application/json")


def make(kind: str):
    app = FastAPI()

    @app.post("/v1/events")
    async def post_events(request: Request) -> Response:
        return await handler(request)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if kind == "starlette":
        app.router.routes.insert(0, Route("/v1/events", handler, methods=["POST"]))
    if kind != "asgi":
        return app

    async def front(scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/v1/events":
            response = await handler(Request(scope, receive))
            await response(scope, receive, send)
        else:
            await app(scope, receive, send)

    return front


async def cpu_per_request(app, requests: int) -> float:
    async def receive():
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(_message) -> None:
        pass

    for _ in range(200):  # warm-up
        await app(dict(SCOPE), receive, send)
    started = time.process_time()
    for _ in range(requests):
        await app(dict(SCOPE), receive, send)
    return (time.process_time() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    for kind in ("fastapi", "starlette", "asgi"):
        us = min(asyncio.run(cpu_per_request(make(kind), args.requests)) for _ in range(3))
        print(f"{kind:9s} {us:7.1f} us of CPU per request (best of 3)", flush=True)
    for every in (16, 1):
        print(f"step timing, 1 request in {every:2d} timed: {step_timing_us(every):5.2f} us of CPU per request", flush=True)


def step_timing_us(sample_every: int, requests: int = 200_000) -> float:
    """CPU per request of the timer calls a request makes (``ingest.app.accept_events``'s laps)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ingest.steps import StepClock

    clock = StepClock(sample_every)

    def one_request() -> None:
        timer = clock.timer()
        for step in ("auth", "body", "ratelimit", "validate"):
            timer.lap(step)
        timer.skip()
        for step in ("validate", "encode", "produce"):
            timer.lap(step)
        timer.skip()
        timer.lap("respond")

    def nothing() -> None:
        pass

    def cpu(fn) -> float:
        started = time.process_time()
        for _ in range(requests):
            fn()
        return time.process_time() - started

    return max(0.0, min(cpu(one_request) for _ in range(3)) - min(cpu(nothing) for _ in range(3))) / requests * 1e6


if __name__ == "__main__":
    main()

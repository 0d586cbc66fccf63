"""The three operational routes every HTTP service answers, written once:

    GET /healthz   liveness: 200 {"status": "ok"} while the process serves
    GET /readyz    readiness: 200 {"status": "ok", <dependency>: "ok", ...<details>}, or
                   503 {"status": "unavailable", <dependency>: <why not>, ...} when any check fails
    GET /metrics   Prometheus exposition (``MetricsExposition``: this process or every process)

Each service names its dependencies in one async ``readiness`` callable that returns a ``Readiness``:
the ingest Kafka, the recommender its vector store, the GraphQL API PostgreSQL (and, as a detail
that does not gate readiness, whether its live feed has caught up); ``Readiness`` and ``probe`` are
in ``gamemetrics.readiness``, which has no HTTP in it. No stage package is imported here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from gamemetrics.exposition import MetricsExposition
from gamemetrics.readiness import OK, Readiness


def add_health_routes(app: FastAPI, readiness: Callable[[], Awaitable[Readiness]], exposition: MetricsExposition,
                      before_scrape: Callable[[], None] | None = None) -> None:
    """Add /healthz, /readyz and /metrics to ``app``; ``before_scrape``: runs before each /metrics render
    (the ingest flushes its step clock into the registry there)."""

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": OK}

    @app.get("/readyz", summary="Readiness: the service's dependencies answer", responses={503: {"model": dict}})
    async def readyz() -> JSONResponse:
        state = await readiness()
        return JSONResponse(state.body(), status_code=200 if state.ready else 503)

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        if before_scrape is not None:
            before_scrape()
        body, content_type = exposition.render()
        return Response(body, media_type=content_type)

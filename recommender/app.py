"""The recommender API (FastAPI): the thin ASGI layer over ``recommender.pipeline``.

    FastHits (recommender/fast.py): a cache hit of /v1/recommendations answered before FastAPI
    lifespan: vector store (embedded: this process owns it; or a Qdrant server) -> Redis cache -> Recommender
              [+ the fold-in consumer in this process on the embedded store: see FoldInConsumer]
    GET  /v1/recommendations/{player_id}?game_id=&k=&exclude_owned=true[&platform=&country=]
    GET  /v1/players/{player_id}/similar?game_id=&k=
    DELETE /v1/players/{player_id}?game_id=      admin: forget the player in every recommender store (audited)
    /v1/admin/...                                admin: the store operations of training and export, run
                                                 on this process's store (recommender.admin, recommender.port)
    GET  /healthz, /readyz (Qdrant answers), /metrics (Prometheus): gamemetrics.http

Auth: ``Authorization: Bearer <token>``, the GraphQL API's tokens (``gamemetrics tokens create``):
401 without a valid one, 403 when the token's games do not include ``game_id``.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from gamemetrics import metric_defs as m
from gamemetrics.errors import TokenNotPermitted, TokenRejected
from gamemetrics.exposition import MetricsExposition
from gamemetrics.http import add_health_routes
from gamemetrics.keys import require_strong
from gamemetrics.settings import Settings, TokenSettings, token_keys
from gamemetrics.tokens import Principal
from recommender import pipeline
from recommender.errors import NoModel, VectorStoreError
from recommender.fast import FastHits
from recommender.pipeline import Services
from recommender.settings import RecommenderSettings
from store.tokens import keep_revocations_fresh

log = structlog.get_logger("recommender.api")

__all__ = ["HttpError", "Services", "build", "create_app"]

GameId = Annotated[str, Query(min_length=1, max_length=200)]
K = Annotated[int | None, Query(ge=1)]


class HttpError(Exception):
    """A status and its detail, raised by the admin routes (``recommender.admin``)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _services(request: Request) -> Services:
    return request.app.state.services


async def _caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The verified caller, or TokenRejected (401); async: a sync dependency would cost a thread-pool
    hop per request."""
    return pipeline.caller(_services(request), authorization)


def _answer(endpoint: str, body: bytes, source: str, started: float) -> Response:
    m.RECOMMENDER_REQUEST_SECONDS.labels(endpoint, source).observe(time.perf_counter() - started)
    return Response(body, media_type="application/json", headers={"X-Cache": source})


def create_app(settings: Settings, rec: RecommenderSettings, tokens: TokenSettings,
               services: Services | None = None, exposition: MetricsExposition = MetricsExposition()) -> FastAPI:
    """The app; ``services`` given (tests, benchmarks) = use those clients instead of opening new ones."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own = services is None
        app.state.services = pipeline.open_services(settings, rec, tokens) if own else services
        for problem in require_strong(settings.env, token_keys(tokens)):  # production: InsecureKey, no start
            log.warning("insecure_setting", problem=problem)
        revocations = asyncio.create_task(
            keep_revocations_fresh(settings, app.state.services.revoked, tokens.revocation_refresh_s)
        )
        fold_in = None
        if own and (rec.fold_in_in_api == "on" or (rec.fold_in_in_api == "auto" and not settings.qdrant_url)):
            from recommender.consumer import FoldInConsumer

            fold_in = FoldInConsumer(settings, rec, app.state.services.store, app.state.services.cache)
            await fold_in.start()
        try:
            yield
        finally:
            revocations.cancel()
            if fold_in is not None:
                await fold_in.stop()
            if own:
                await pipeline.close_services(app.state.services)
            exposition.process_exit()

    app = FastAPI(title="GameMetrics recommender", version="1", lifespan=lifespan,
                  description="Store offers and similar players from play history: Qdrant vectors behind a Redis cache.")
    app.add_middleware(FastHits, owner=app)  # cache hits of /v1/recommendations answered before FastAPI
    for error in (HttpError, *ERROR_STATUSES):
        app.add_exception_handler(error, _error_answer)

    @app.get("/v1/recommendations/{player_id}", summary="Items recommended to a player, best first")
    async def recommendations(
        request: Request, player_id: str, principal: Annotated[Principal, Depends(_caller)], game_id: GameId, k: K = None,
        exclude_owned: bool = True,
        platform: Annotated[str | None, Query(max_length=32, description="Segment for cold start.")] = None,
        country: Annotated[str | None, Query(max_length=2, description="Segment for cold start (ISO 3166-1).")] = None,
    ) -> Response:
        started = time.perf_counter()
        body, source = await pipeline.recommendations(_services(request), principal, game_id, player_id, k,
                                                      exclude_owned, platform, country)
        return _answer("recommendations", body, source, started)

    @app.get("/v1/players/{player_id}/similar", summary="Players with the most similar play")
    async def similar(request: Request, player_id: str, principal: Annotated[Principal, Depends(_caller)], game_id: GameId,
                      k: K = None) -> Response:
        started = time.perf_counter()
        body, source = await pipeline.similar(_services(request), principal, game_id, player_id, k)
        return _answer("similar", body, source, started)

    @app.delete("/v1/players/{player_id}", summary="Forget a player in every recommender store (admin)")
    async def forget(request: Request, player_id: str, principal: Annotated[Principal, Depends(_caller)],
                     game_id: Annotated[str, Query(min_length=1)]) -> dict[str, Any]:
        return await pipeline.forget(_services(request), principal, game_id, player_id)

    from recommender.admin import admin_router

    app.include_router(admin_router(_caller, HttpError))
    add_health_routes(app, lambda: pipeline.readiness(app.state.services), exposition)
    return app


ERROR_STATUSES: dict[type[Exception], int] = {TokenRejected: 401, TokenNotPermitted: 403, NoModel: 404,
                                              VectorStoreError: 503}
"""The pipeline's typed errors (and their subclasses) and the status each is answered with."""


async def _error_answer(_: Request, exc: Exception) -> JSONResponse:
    """An error of the pipeline (or ``HttpError`` of the admin routes) as its status and ``{"detail": ...}``."""
    if isinstance(exc, HttpError):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)
    if isinstance(exc, VectorStoreError):
        log.error("qdrant_unavailable", error=str(exc))
        return JSONResponse({"detail": f"the vector store is unavailable: {exc}"}, status_code=503,
                            headers={"Retry-After": "1"})
    status = next(status for error, status in ERROR_STATUSES.items() if isinstance(exc, error))
    return JSONResponse({"detail": str(exc)}, status_code=status)


def build() -> FastAPI:
    """uvicorn factory of ``gamemetrics serve recommender``: settings read once, here."""
    from gamemetrics.commands import command_settings

    return create_app(command_settings(), RecommenderSettings(), TokenSettings(),
                      exposition=MetricsExposition.of_this_process())

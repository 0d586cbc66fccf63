"""The recommender API (FastAPI), built in one place:

    FastHits (recommender/fast.py): a cache hit of /v1/recommendations answered before FastAPI
    lifespan: vector store (embedded: this process owns it; or a Qdrant server) -> Redis cache -> Recommender
              [+ the fold-in consumer in this process on the embedded store: see FoldInConsumer]
    GET  /v1/recommendations/{player_id}?game_id=&k=&exclude_owned=true[&platform=&country=]
    GET  /v1/players/{player_id}/similar?game_id=&k=
    DELETE /v1/players/{player_id}?game_id=      admin: forget the player in every recommender store (audited)
    /v1/admin/...                                admin: the store operations of training and export, run
                                                 on this process's store (recommender.admin, recommender.port)
    GET  /healthz, /readyz (Qdrant answers), /metrics (Prometheus)

Auth: ``Authorization: Bearer <token>``, the GraphQL API's tokens (``gamemetrics tokens create``):
401 without a valid one, 403 when the token's games do not include ``game_id``.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from gamemetrics import metric_defs as m
from gamemetrics.exposition import MetricsExposition
from gamemetrics.errors import TokenNotPermitted, TokenRejected
from gamemetrics.keys import require_strong
from gamemetrics.settings import Settings, TokenSettings, token_keys
from gamemetrics.redact import redact
from gamemetrics.tokens import Principal, RevokedTokens, bearer_token
from recommender.cache import AnswerCache
from recommender.errors import NoModel, VectorStoreError
from recommender.fast import FastHits, VerifiedTokens
from recommender.service import Recommender
from recommender.settings import RecommenderSettings
from recommender.vectors import VectorStore
from store.tokens import keep_revocations_fresh

log = structlog.get_logger("recommender.api")


@dataclass
class Services:
    settings: Settings
    rec: RecommenderSettings
    tokens: TokenSettings
    store: VectorStore
    cache: AnswerCache
    recommender: Recommender
    revoked: RevokedTokens = field(default_factory=RevokedTokens)  # refreshed by the lifespan (store.tokens)
    audit: Callable[[str, str, str | None, str | None, dict[str, Any]], Awaitable[None]] | None = None

    tokens_cache: VerifiedTokens | None = None

    def __post_init__(self) -> None:
        if self.tokens_cache is None:
            self.tokens_cache = VerifiedTokens(self.tokens, revoked=self.revoked)
        if self.audit is None:
            from recommender.admin import audit_writer

            self.audit = audit_writer(self.settings)


class HttpError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _services(request: Request) -> Services:
    return request.app.state.services


async def _caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The verified caller (async: a sync dependency would cost a thread-pool hop per request)."""
    services = _services(request)
    try:
        return services.tokens_cache.verify(bearer_token(authorization))
    except TokenRejected as exc:
        raise HttpError(401, str(exc)) from exc


def _check_game(principal: Principal, game_id: str) -> None:
    try:
        principal.require_game(game_id)
    except TokenNotPermitted as exc:
        raise HttpError(403, str(exc)) from exc


def create_app(settings: Settings, rec: RecommenderSettings, tokens: TokenSettings,
               services: Services | None = None, exposition: MetricsExposition = MetricsExposition()) -> FastAPI:
    """The app; ``services`` given (tests, benchmarks) = use those clients instead of opening new ones."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own = services is None
        if own:
            store = VectorStore.open(settings, rec)
            cache = AnswerCache.connect(settings.redis_url, store.names.namespace, rec, one_process=store.embedded)
            app.state.services = Services(settings, rec, tokens, store, cache, Recommender(store, cache, rec))
        else:
            app.state.services = services
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
                await app.state.services.cache.close()
                await app.state.services.store.close()
            exposition.process_exit()

    app = FastAPI(title="GameMetrics recommender", version="1", lifespan=lifespan,
                  description="Store offers and similar players from play history: Qdrant vectors behind a Redis cache.")

    app.add_middleware(FastHits, owner=app)  # cache hits of /v1/recommendations answered before FastAPI

    @app.exception_handler(HttpError)
    async def http_error(_: Request, exc: HttpError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(NoModel)
    async def no_model(_: Request, exc: NoModel) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(VectorStoreError)
    async def store_down(_: Request, exc: VectorStoreError) -> JSONResponse:
        log.error("qdrant_unavailable", error=str(exc))
        return JSONResponse({"detail": f"the vector store is unavailable: {exc}"}, status_code=503,
                            headers={"Retry-After": "1"})

    def answer(endpoint: str, body: bytes, source: str, started: float) -> Response:
        m.RECOMMENDER_REQUEST_SECONDS.labels(endpoint, source).observe(time.perf_counter() - started)
        return Response(body, media_type="application/json", headers={"X-Cache": source})

    @app.get("/v1/recommendations/{player_id}", summary="Items recommended to a player, best first")
    async def recommendations(
        request: Request, player_id: str, principal: Annotated[Principal, Depends(_caller)],
        game_id: Annotated[str, Query(min_length=1, max_length=200)],
        k: Annotated[int | None, Query(ge=1)] = None,
        exclude_owned: bool = True,
        platform: Annotated[str | None, Query(max_length=32, description="Segment for cold start.")] = None,
        country: Annotated[str | None, Query(max_length=2, description="Segment for cold start (ISO 3166-1).")] = None,
    ) -> Response:
        started = time.perf_counter()
        _check_game(principal, game_id)
        s = _services(request)
        k = min(k or s.rec.default_k, s.rec.max_k)
        body, source = await s.recommender.recommend(game_id, player_id, k, exclude_owned, platform, country)
        m.RECOMMENDER_REQUESTS.labels("recommendations", "ok").inc()
        return answer("recommendations", body, source, started)

    @app.get("/v1/players/{player_id}/similar", summary="Players with the most similar play")
    async def similar(
        request: Request, player_id: str, principal: Annotated[Principal, Depends(_caller)],
        game_id: Annotated[str, Query(min_length=1, max_length=200)],
        k: Annotated[int | None, Query(ge=1)] = None,
    ) -> Response:
        started = time.perf_counter()
        _check_game(principal, game_id)
        s = _services(request)
        k = min(k or s.rec.default_k, s.rec.max_k)
        body, source = await s.recommender.similar(game_id, player_id, k)
        m.RECOMMENDER_REQUESTS.labels("similar", "ok").inc()
        return answer("similar", body, source, started)

    @app.delete("/v1/players/{player_id}", summary="Forget a player in every recommender store (admin)")
    async def forget(request: Request, player_id: str, principal: Annotated[Principal, Depends(_caller)],
                     game_id: Annotated[str, Query(min_length=1)]) -> dict[str, Any]:
        try:
            principal.require_admin("forgetting a player", game_id)
        except TokenNotPermitted as exc:
            raise HttpError(403, str(exc)) from exc
        from recommender.forget import forget_with

        s = _services(request)
        counts = await forget_with(s.store, s.cache, game_id, player_id)
        await s.audit(f"token:{principal.subject}", "recommender.forget", game_id, player_id, counts)
        return counts

    from recommender.admin import admin_router

    app.include_router(admin_router(_caller, HttpError))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        try:
            await asyncio.wait_for(_services(request).store.client.get_collections(), timeout=2)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return JSONResponse({"status": "unavailable", "qdrant": redact(str(exc))}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = exposition.render()
        return Response(body, media_type=content_type)

    return app


def build() -> FastAPI:
    """uvicorn factory of ``gamemetrics serve recommender``: settings read once, here."""
    from gamemetrics.commands import command_settings

    return create_app(command_settings(), RecommenderSettings(), TokenSettings(),
                      exposition=MetricsExposition.of_this_process())

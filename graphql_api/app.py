"""The API process (FastAPI): GraphQL at /graphql (HTTP and graphql-transport-ws), the
dashboard at /dashboard, health at /healthz and /readyz, Prometheus metrics at /metrics
(``gamemetrics.http``). The thin ASGI layer over the request pipeline, which has no HTTP in it.

Built in one place, in the order a request meets it: lifespan (``graphql_api.services.serving``: store
pool, live hub and its Kafka consumer) -> context (the caller from the bearer token) -> schema (auth,
limits, resolvers).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import HTTPConnection
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from gamemetrics.exposition import MetricsExposition
from gamemetrics.http import add_health_routes
from gamemetrics.keys import require_strong
from gamemetrics.settings import Settings, token_keys
from gamemetrics.tracing import Tracing
from graphql_api.context import Context
from graphql_api.errors import ApiError
from graphql_api.limits import RequestGate
from graphql_api.schema import build_schema
from graphql_api.services import readiness, serving
from graphql_api.settings import GraphQLSettings

log = structlog.get_logger("graphql_api")

STATIC_DIR = Path(__file__).with_name("static")
CONNECTION_INIT_TIMEOUT = timedelta(seconds=10)
CLOSE_FORBIDDEN = 4403  # graphql-transport-ws: connection_init refused
MAX_CLOSE_REASON = 123  # bytes a WebSocket close reason may hold
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
WS_MISSING_TOKEN = 'missing token: send {"Authorization": "Bearer <token>"} in the connection_init payload'


def _close_reason(error: ApiError | None) -> str:
    reason = str(error) if error is not None else WS_MISSING_TOKEN
    if "missing token" in reason:
        reason = WS_MISSING_TOKEN
    encoded = reason.encode()
    return reason if len(encoded) <= MAX_CLOSE_REASON else encoded[: MAX_CLOSE_REASON - 3].decode(errors="ignore") + "..."


class TokenCheckingTransportWS(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws whose connection_init must carry a valid token; else close 4403 with the reason."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload")
        if payload is None:  # the protocol allows no payload: no token in it, so refused like an empty one
            payload = {}
            message = {**message, "payload": payload}  # type: ignore[typeddict-item]
        if isinstance(payload, dict) and not self.connection_init_received:
            context: Context = self.context
            authorization = payload.get("Authorization", payload.get("authorization"))
            if authorization is not None or context.principal is None:
                context.authenticate(authorization)
            if context.principal is None:
                self.connection_init_received = True
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                log.info("graphql_ws_refused", reason=str(context.auth_error))
                await self.websocket.close(code=CLOSE_FORBIDDEN, reason=_close_reason(context.auth_error))
                return
        await super().handle_connection_init(message)


class AnalyticsRouter(GraphQLRouter):
    graphql_transport_ws_handler_class = TokenCheckingTransportWS


async def _context(connection: HTTPConnection) -> Context:
    return Context(connection.app.state.services, connection.headers.get("authorization"))


TRACING_EXCLUDED_URLS = "/healthz,/readyz,/metrics,/dashboard"


def create_app(settings: Settings, gql: GraphQLSettings, exposition: MetricsExposition = MetricsExposition(),
               tracing: Tracing | None = None) -> FastAPI:
    """The API with the settings resolved at start-up (``graphql_api.main.build``); ``exposition``: what
    /metrics sums (this process, or every API process of ``serve graphql --workers N``).

    ``tracing``: an HTTP server span per request (OpenTelemetry's FastAPI instrumentation, which joins a
    caller's ``traceparent``), and Strawberry's spans of the operation and its resolvers under it."""
    schema = build_schema(gql, tracing)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # production: InsecureKey (the app does not start); local stack: a warning per weak key
        for problem in require_strong(settings.env, token_keys(gql)):
            log.warning("insecure_setting", problem=problem)
        try:
            async with serving(settings, gql) as app.state.services:
                yield
        finally:
            exposition.process_exit()

    app = FastAPI(
        title="GameMetrics analytics API",
        version="1",
        description="GraphQL at /graphql (queries over HTTP, subscriptions over graphql-transport-ws); dashboard at /dashboard.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    router = AnalyticsRouter(
        schema,
        path="/graphql",
        context_getter=_context,
        graphql_ide="graphiql" if gql.graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
        max_subscriptions_per_connection=gql.max_subscriptions_per_connection,
    )
    app.include_router(router)
    app.add_middleware(RequestGate, gql=gql)  # 401/413 before a query is read (graphql_api.limits)
    app.mount("/dashboard/assets", StaticFiles(directory=STATIC_DIR), name="dashboard-assets")

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/dashboard")

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard() -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={
            "Content-Security-Policy": DASHBOARD_CSP, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
        })

    add_health_routes(app, lambda: readiness(app.state.services), exposition)

    if tracing is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.metrics import NoOpMeterProvider

        FastAPIInstrumentor.instrument_app(app, tracer_provider=tracing.provider, meter_provider=NoOpMeterProvider(),
                                           excluded_urls=TRACING_EXCLUDED_URLS, exclude_spans=["receive", "send"])
    return app

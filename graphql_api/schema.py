"""The schema: root queries, admin mutations and subscriptions, each checking the caller first.

Every root field that names a game checks it against the caller's token before touching the
store; ``games`` lists only the token's games. The SDL is exported to ``schema.graphql``
(``python -m graphql_api export-schema``) and a test keeps the two in sync.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, TypeVar

import psycopg
import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxTokensLimiter
from strawberry.extensions.add_validation_rules import AddValidationRules
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gamemetrics import metric_defs as m
from gamemetrics.tracing import Tracing
from schemas.event_types import is_currency
from store.currencies import set_rate
from store.errors import StoreError
from store.games import create_game, rotate_key
from graphql_api.analytics.activity import active_users
from graphql_api.analytics.counts import event_counts
from graphql_api.analytics.fairness import fairness as fairness_report
from graphql_api.analytics.funnel import funnel as funnel_report
from graphql_api.analytics.games import Game, visible_games
from graphql_api.analytics.pipeline import pipeline as pipeline_report
from graphql_api.analytics.players import Player
from graphql_api.analytics.players import player as player_profile
from graphql_api.analytics.retention import retention as retention_report
from graphql_api.analytics.revenue import revenue as revenue_report
from graphql_api.analytics.sessions import Sessions, session_stats
from graphql_api.context import Context
from graphql_api.errors import BadArgument
from graphql_api.gdpr import GdprMutation, audit
from graphql_api.limits import Authentication, ErrorCodes, OperationLog, cost_rule
from graphql_api.ranges import Bucket, Granularity
from graphql_api.recommendations import RecommendationQueries
from graphql_api.settings import GraphQLSettings
from graphql_api.types import (
    ActiveUsers,
    Cost,
    CreatedGame,
    CurrencyRate,
    Duration,
    EventCounts,
    Fairness,
    Funnel,
    FunnelStepInput,
    LiveEventBatch,
    LiveMetrics,
    MetricFilter,
    Pipeline,
    SCALAR_MAP,
    Retention,
    Revenue,
    RotatedKey,
    Viewer,
)

SDL_PATH = Path(__file__).with_name("schema.graphql")
Info = strawberry.Info[Context, None]
T = TypeVar("T")
From = Annotated[T, strawberry.argument(name="from", description="Start of the range, inclusive (UTC).")]
To = Annotated[T, strawberry.argument(description="End of the range, exclusive (UTC).")]


@strawberry.type
class Query(RecommendationQueries):  # + recommendations, similarPlayers (graphql_api/recommendations.py)
    @strawberry.field(description="The caller: the role and games of their token.")
    def me(self, info: Info) -> Viewer:
        p = info.context.viewer
        return Viewer(subject=p.subject, role=p.role, games=sorted(p.games), expires_at=p.expires_at)

    @strawberry.field(description="The games the caller may see, by name.", directives=[Cost(weight=1)])
    async def games(self, info: Info) -> list[Game]:
        return await visible_games(info.context.services.db, info.context.viewer)

    @strawberry.field(description="Events per bucket of event time in [from, to), optionally of some event types only.",
                      directives=[Cost(weight=2)])
    async def event_counts(
        self, info: Info, game_id: str, from_: From[datetime], to: To[datetime], bucket: Bucket = Bucket.HOUR,
        event_types: list[str] | None = None, filter: MetricFilter | None = None,
    ) -> EventCounts:
        info.context.require_game(game_id)
        s = info.context.services
        return await event_counts(s.db, s.gql.max_points, game_id, from_, to, bucket, event_types, filter)

    @strawberry.field(description="Distinct active players per DAY, WEEK or MONTH of [from, to), and DAU/MAU.",
                      directives=[Cost(weight=3)])
    async def active_users(
        self, info: Info, game_id: str, from_: From[date], to: To[date], granularity: Granularity = Granularity.DAY
    ) -> ActiveUsers:
        info.context.require_game(game_id)
        s = info.context.services
        return await active_users(s.db, s.gql.max_points, game_id, from_, to, granularity)

    @strawberry.field(description="Day-N retention of the players first seen on each day of [cohortFrom, cohortTo).",
                      directives=[Cost(weight=5)])
    async def retention(
        self, info: Info, game_id: str, cohort_from: date, cohort_to: To[date], days: list[int] = (1, 7, 30)  # type: ignore[assignment]
    ) -> Retention:
        info.context.require_game(game_id)
        s = info.context.services
        return await retention_report(s.db, s.gql.max_points, game_id, cohort_from, cohort_to, list(days))

    @strawberry.field(description="Players reaching each step in order, entering in [from, to), within `within` of entering.",
                      directives=[Cost(weight=10)])
    async def funnel(
        self, info: Info, game_id: str, steps: list[FunnelStepInput], from_: From[datetime], to: To[datetime],
        within: Duration = timedelta(days=1),  # type: ignore[assignment]
    ) -> Funnel:
        info.context.require_game(game_id)
        s = info.context.services
        return await funnel_report(s.db, s.gql.max_funnel_days, game_id, steps, from_, to, within)

    @strawberry.field(description="Revenue (USD), paying users, ARPDAU, ARPPU and conversion per bucket of [from, to).",
                      directives=[Cost(weight=3)])
    async def revenue(
        self, info: Info, game_id: str, from_: From[date], to: To[date], bucket: Granularity = Granularity.DAY
    ) -> Revenue:
        info.context.require_game(game_id)
        s = info.context.services
        return await revenue_report(s.db, s.gql.max_points, game_id, from_, to, bucket)

    @strawberry.field(description="Sessions started in [from, to): count and length; peak concurrency per bucket.",
                      directives=[Cost(weight=2)])
    async def sessions(self, info: Info, game_id: str, from_: From[datetime], to: To[datetime]) -> Sessions:
        info.context.require_game(game_id)
        return await session_stats(info.context.services.db, game_id, from_, to)

    @strawberry.field(description="Win, loss and draw ratios per mode, for the hours starting in [from, to).",
                      directives=[Cost(weight=1)])
    async def fairness(self, info: Info, game_id: str, from_: From[datetime], to: To[datetime]) -> Fairness:
        info.context.require_game(game_id)
        return await fairness_report(info.context.services.db, game_id, from_, to)

    @strawberry.field(description="A player's profile; null when the game has never seen them.",
                      directives=[Cost(weight=1)])
    async def player(self, info: Info, game_id: str, player_id: str) -> Player | None:
        info.context.require_game(game_id)
        await audit(info, "graphql.player_read", game_id, player_id)
        return await player_profile(info.context.services.db, game_id, player_id)

    @strawberry.field(description="Landing pipeline health: consumer lag, freshness, dead letters.",
                      directives=[Cost(weight=3)])
    async def pipeline(self, info: Info) -> Pipeline:
        principal = info.context.viewer
        s = info.context.services
        return await pipeline_report(s.db, s.lag, s.hub, principal)


@strawberry.type
class Mutation(GdprMutation):
    @strawberry.mutation(description="Create a game and its first API key (admin of every game).",
                         directives=[Cost(weight=5)])
    async def create_game(self, info: Info, name: str) -> CreatedGame:
        info.context.viewer.require_admin("createGame")
        name = name.strip()
        if not 0 < len(name) <= 100:
            raise BadArgument("createGame: name must be 1 to 100 characters")
        try:
            game = await info.context.services.db.write(lambda conn: create_game(conn, name))
        except StoreError as exc:
            raise BadArgument(f"createGame: {exc}") from exc
        await audit(info, "graphql.create_game", game.game_id, detail={"name": name})
        return CreatedGame(game_id=game.game_id, name=game.name, api_key=game.api_key)

    @strawberry.mutation(description="Issue a new API key; the current ones keep working for graceHours (admin of the game).",
                         directives=[Cost(weight=5)])
    async def rotate_api_key(self, info: Info, game_id: str, grace_hours: float = 24.0) -> RotatedKey:
        info.context.viewer.require_admin("rotateApiKey", game_id)
        if not 0 <= grace_hours <= 24 * 30:
            raise BadArgument("rotateApiKey: graceHours must be 0 to 720")
        grace = timedelta(hours=grace_hours)
        try:
            key = await info.context.services.db.write(lambda conn: rotate_key(conn, game_id, grace))
        except StoreError as exc:
            raise BadArgument(f"rotateApiKey: {exc}") from exc
        await audit(info, "graphql.rotate_api_key", game_id, detail={"grace_hours": grace_hours})
        return RotatedKey(game_id=game_id, api_key=key, previous_keys_expire_at=datetime.now(timezone.utc) + grace)

    @strawberry.mutation(description="Add or change a currency's USD rate (admin of every game: it converts all revenue).",
                         directives=[Cost(weight=5)])
    async def set_currency_rate(self, info: Info, currency: str, usd_per_unit: float) -> CurrencyRate:
        info.context.viewer.require_admin("setCurrencyRate")
        if not is_currency(currency) or not usd_per_unit > 0:
            raise BadArgument(f"setCurrencyRate: {currency!r} must be an ISO 4217 code and usdPerUnit > 0")

        def upsert(conn: psycopg.Connection) -> None:
            set_rate(conn, currency, usd_per_unit)
            conn.commit()

        await info.context.services.db.write(upsert)
        await audit(info, "graphql.set_currency_rate", None, detail={"currency": currency, "usd_per_unit": usd_per_unit})
        return CurrencyRate(currency=currency, usd_per_unit=usd_per_unit)


MAX_TICKS_BEHIND = 5  # a liveMetrics subscriber further behind than this skips ahead instead of catching up


async def _seconds() -> AsyncGenerator[int, None]:
    """Whole wall-clock seconds, one per second: a late wake-up catches up instead of skipping one."""
    tick = int(time.time())
    while True:
        yield tick
        tick += 1
        now = time.time()
        if now - tick > MAX_TICKS_BEHIND:
            tick = int(now)
        await asyncio.sleep(max(0.0, tick - now))


@strawberry.type
class Subscription:
    """Each resolver checks the caller and the arguments, then returns the stream: a refusal is a
    graphql-transport-ws ``error`` message before any data, not an error inside a ``next``."""

    @strawberry.subscription(description="A snapshot of the game's live numbers once a second.",
                             directives=[Cost(weight=1)])
    async def live_metrics(self, info: Info, game_id: str) -> AsyncGenerator[LiveMetrics, None]:
        context = info.context
        context.require_game(game_id)
        return _live_metrics(context, game_id)

    @strawberry.subscription(description="The game's processed events as they land, optionally of some types only.",
                             directives=[Cost(weight=1)])
    async def live_events(self, info: Info, game_id: str,
                          event_types: list[str] | None = None) -> AsyncGenerator[LiveEventBatch, None]:
        context = info.context
        context.require_game(game_id)
        if event_types is not None and not event_types:
            raise BadArgument("liveEvents: eventTypes is empty; leave it out for every type")
        return _live_events(context, game_id, frozenset(event_types) if event_types else None)


async def _live_metrics(context: Context, game_id: str) -> AsyncGenerator[LiveMetrics, None]:
    gauge = m.GRAPHQL_SUBSCRIPTIONS.labels("liveMetrics")
    gauge.inc()
    try:
        async for tick in _seconds():
            context.require_game(game_id)  # the token may expire while the socket stays open
            yield context.services.hub.metrics(game_id, tick)
    finally:
        gauge.dec()


async def _live_events(context: Context, game_id: str,
                       event_types: frozenset[str] | None) -> AsyncGenerator[LiveEventBatch, None]:
    services = context.services
    gauge = m.GRAPHQL_SUBSCRIPTIONS.labels("liveEvents")
    gauge.inc()
    try:
        with services.hub.subscribe(game_id, event_types) as subscriber:
            while True:
                events, dropped = await subscriber.next_batch(services.gql.live_batch_max)
                context.require_game(game_id)
                yield LiveEventBatch(events=events, dropped=dropped)
    finally:
        gauge.dec()


class AnalyticsSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logged by ``limits.ErrorCodes`` instead: internal errors with a reference, ours not at all."""


def _without_player_ids(args: dict[str, Any], info: Any) -> dict[str, Any]:
    """Resolver arguments recorded on the resolver spans, less the player ids (personal data a trace
    backend would keep beyond a GDPR erase)."""
    return {name: value for name, value in args.items() if "player" not in name.lower()}


def build_schema(gql: GraphQLSettings, tracing: Tracing | None = None) -> strawberry.Schema:
    """The schema with the limits of ``gql`` (cost, depth, tokens, introspection); the SDL does not depend on them.

    ``tracing``: Strawberry's OpenTelemetry extension adds a span per operation, parse, validation and
    resolver (child of the HTTP request's span); None = no tracing extension at all."""
    rules = [cost_rule(gql.max_cost, gql.max_depth)] + ([NoSchemaIntrospectionCustomRule] if not gql.introspection else [])
    extensions: list[Any] = [  # on_operation exits run last-first: OperationLog sees the errors ErrorCodes shaped
        OperationLog, ErrorCodes, Authentication,
        lambda: MaxTokensLimiter(max_token_count=gql.max_query_tokens),
        lambda: AddValidationRules(rules),
    ]
    if tracing is not None:
        from strawberry.extensions.tracing import OpenTelemetryExtension

        provider = tracing.provider
        extensions.insert(0, lambda: OpenTelemetryExtension(tracer_provider=provider, arg_filter=_without_player_ids))
    return AnalyticsSchema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions,
                           config=StrawberryConfig(scalar_map=SCALAR_MAP))


def export_sdl(gql: GraphQLSettings, path: Path = SDL_PATH) -> str:
    sdl = build_schema(gql).as_str() + "\n"
    path.write_text(sdl)
    return sdl

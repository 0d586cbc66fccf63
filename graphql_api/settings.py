"""Settings of the GraphQL API, read once at start-up from ``GAMEMETRICS_GRAPHQL_*``.

The JWT secret has a development default so ``gamemetrics serve graphql`` works on a laptop out
of the box; :func:`insecure_defaults` names it and the app logs a warning at start-up when it is
in use. Set ``GAMEMETRICS_GRAPHQL_JWT_SECRET`` (32+ random bytes) everywhere else.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gamemetrics.settings import DEVELOPMENT_JWT_SECRET, TokenSettings, insecure_token_settings  # noqa: F401


class GraphQLSettings(TokenSettings):
    """The token keys (``jwt_secret``, ``jwt_issuer``, ``jwt_audience``, ``token_max_ttl_s``) come
    from the foundation's ``TokenSettings``, shared with the recommender API."""

    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_GRAPHQL_", frozen=True, extra="ignore")

    introspection: bool = Field(True, description="Answer introspection queries (__schema, __type).")
    graphiql: bool = Field(
        False, description="Serve the GraphiQL IDE on GET /graphql (its page loads GraphiQL from a CDN: off by default)."
    )
    max_depth: int = Field(10, gt=0, description="Deepest selection a query may have (introspection excluded).")
    max_cost: int = Field(200, gt=0, description="Most cost points one operation may add up to (see @cost).")
    max_request_bytes: int = Field(
        64 * 1024, gt=0, description="Largest HTTP body of a GraphQL request (query and variables); larger: 413."
    )
    max_query_tokens: int = Field(5_000, gt=0, description="Most lexical tokens a query may have; the parser stops there.")
    max_points: int = Field(5_000, gt=0, description="Most buckets a time series may have.")
    max_funnel_days: int = Field(31, gt=0, description="Longest [from, to) a funnel may scan (it reads raw events).")
    query_timeout_s: float = Field(15.0, gt=0, description="PostgreSQL statement_timeout of API queries.")
    db_pool_size: int = Field(8, gt=0, description="PostgreSQL connections per API process.")

    live_enabled: bool = Field(True, description="Run the live consumer of player.events.processed (subscriptions).")
    live_warmup_s: int = Field(300, ge=0, description="At start, replay this much of the processed topic into the live windows.")
    live_subscriber_buffer: int = Field(2_000, gt=0, description="Events buffered per liveEvents subscriber before the oldest are dropped.")
    live_batch_max: int = Field(500, gt=0, description="Most events one liveEvents message carries.")
    max_subscriptions_per_connection: int = Field(20, gt=0, description="Operations one WebSocket may run at once.")
    lag_cache_s: float = Field(2.0, ge=0, description="How long `pipeline.consumerLag` is cached per process.")
    kafka_timeout_s: float = Field(5.0, gt=0, description="Longest wait for a Kafka admin or metadata answer.")
    gdpr_run_now: bool = Field(
        True, description="requestErase/requestExport(runNow: true) run the request in this process (it needs S3 and"
        " the receipt key); false = the request is left pending for the frequent `gamemetrics gdpr run` CronJob"
        " (the chart's setting: the API pod holds neither).")
    gdpr_metrics_refresh_s: float = Field(
        30.0, ge=0, description="How often this process reads the GDPR backlog (gdpr_requests) into its /metrics"
        " (gamemetrics_gdpr_requests, ..._oldest_pending_request_age_seconds) for GameMetricsGDPRRequestPending;"
        " 0 = never.")
    recommender_url: str = Field("http://127.0.0.1:8070",
                                 description="The recommender API (`gamemetrics serve recommender`) behind `recommendations`.")


def load_graphql_settings(**overrides: object) -> GraphQLSettings:
    return GraphQLSettings(**overrides)  # type: ignore[arg-type]


def insecure_defaults(settings: GraphQLSettings) -> list[str]:
    """The settings left at a development default that must not reach production."""
    return insecure_token_settings(settings)

"""Typed settings, resolved once at startup and passed in; library modules never read os.environ.

Every field is read from an environment variable named ``GAMEMETRICS_<FIELD>``. The defaults
point at the embedded local stack that ``gamemetrics stack up`` starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Ports of the embedded local stack. They are off the well-known ports so a system PostgreSQL,
# Redis or Kafka on the same machine never collides with the project's own.
LOCAL_KAFKA_PORT = 59092
LOCAL_KAFKA_CONTROLLER_PORT = 59093
LOCAL_POSTGRES_PORT = 55432
LOCAL_REDIS_PORT = 56379


class Settings(BaseSettings):
    """Where the services are and how this process names its topics and tables."""

    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_", frozen=True, extra="ignore")

    kafka_bootstrap_servers: str = Field(
        f"127.0.0.1:{LOCAL_KAFKA_PORT}", description="Kafka bootstrap servers, comma separated."
    )
    database_url: str = Field(
        f"postgresql://gamemetrics@127.0.0.1:{LOCAL_POSTGRES_PORT}/gamemetrics",
        description="PostgreSQL URL (libpq form, no driver suffix).",
    )
    redis_url: str = Field(f"redis://127.0.0.1:{LOCAL_REDIS_PORT}/0", description="Redis URL.")
    qdrant_url: str = Field("", description="Qdrant server URL; empty = local mode under the state dir.")
    schema_registry_url: str = Field(
        "", description="Confluent-compatible Schema Registry URL; empty = the catalog in schemas/."
    )
    state_dir: Path = Field(Path(".gamemetrics"), description="Local state: service data, logs, pid files.")
    topic_prefix: str = Field("", description="Prefix for every topic name (isolates tests and tenants).")
    database_schema: str = Field(
        "gamemetrics", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="PostgreSQL schema holding our tables."
    )
    privacy_key: SecretStr = Field(
        SecretStr("gamemetrics-local-privacy-key"),
        description="HMAC key of the keyed player-id hashes (tombstones, GDPR requests, audit log). Set your own"
        " in production and never change it: tombstones are found by it.",
    )
    audit_key: SecretStr = Field(
        SecretStr("gamemetrics-local-audit-key"),
        description="HMAC key of the audit log's hash chain: who can write the table cannot forge the chain.",
    )
    avro_codec: Literal["auto", "native", "fastavro"] = Field(
        "auto",
        description="Avro codec of the hot paths: auto = the compiled gamemetrics_avro when installed, "
        "native = refuse to start without it, fastavro = the reference (schemas/wire.py).",
    )
    log_format: Literal["json", "console"] = Field("console", description="Structured log rendering.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    def topic(self, name: str) -> str:
        """The full name of one of the topics of ARCHITECTURE.md for this deployment."""
        return f"{self.topic_prefix}{name}"

    def explicitly_set(self, field: str) -> bool:
        """True when ``field`` came from the environment (or the caller), not from the default."""
        return field in self.model_fields_set

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg (v3) driver named, for SQLAlchemy."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url


DEVELOPMENT_JWT_SECRET = "gamemetrics-development-secret-do-not-use-in-production"


class TokenSettings(BaseSettings):
    """The keys of the bearer tokens (``gamemetrics.tokens``) that the APIs share: the GraphQL API
    issues them (``gamemetrics tokens create``) and the GraphQL and recommender APIs verify them.
    Read from ``GAMEMETRICS_GRAPHQL_*`` (the API that introduced them), so existing deployments keep
    their variables; ``graphql_api.settings.GraphQLSettings`` extends this class."""

    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_GRAPHQL_", frozen=True, extra="ignore")

    jwt_secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_JWT_SECRET),
        description="HMAC secret of the bearer tokens (HS256). The default is public: set your own.",
    )
    jwt_issuer: str = Field("gamemetrics", description="`iss` claim written and required in tokens.")
    jwt_audience: str = Field("gamemetrics-graphql", description="`aud` claim written and required in tokens.")
    token_max_ttl_s: int = Field(90 * 24 * 3600, gt=0, description="Longest lifetime `tokens create` accepts.")


def insecure_token_settings(settings: TokenSettings) -> list[str]:
    """The token settings left at a development default that must not reach production."""
    secret = settings.jwt_secret.get_secret_value()
    if secret == DEVELOPMENT_JWT_SECRET:
        return ["GAMEMETRICS_GRAPHQL_JWT_SECRET is the public development secret: anyone can mint tokens"]
    if len(secret.encode()) < 32:
        return ["GAMEMETRICS_GRAPHQL_JWT_SECRET is shorter than 32 bytes"]
    return []


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment once; ``overrides`` win over the environment."""
    return Settings(**overrides)  # type: ignore[arg-type]

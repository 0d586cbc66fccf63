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
# Redis or Kafka on the same machine never collides with the project's own, and below Linux's
# ephemeral range (32768-60999, net.ipv4.ip_local_port_range): a port in that range can be taken by
# a client's outgoing connection while the service is down, and the service then fails to restart
# ("Address already in use"). Until 2026-12 they were 59092/59093/55432/56379 (and S3 59000);
# docs/operations/local-stack-ports.md says what `stack up` does with a state folder made then.
LOCAL_KAFKA_PORT = 19092
LOCAL_KAFKA_CONTROLLER_PORT = 19093
LOCAL_POSTGRES_PORT = 15432
LOCAL_REDIS_PORT = 16379
LOCAL_POSTGRES_REPLICA_PORT = 15433  # `stack up --replica`

LOCAL_PRIVACY_KEY = "gamemetrics-local-privacy-key"
LOCAL_AUDIT_KEY = "gamemetrics-local-audit-key"
LOCAL_SECRET_BOX_KEY = "gamemetrics-local-secret-box-key"

Environment = Literal["local", "production"]
KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]


class Settings(BaseSettings):
    """Where the services are and how this process names its topics and tables."""

    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_", frozen=True, extra="ignore")

    env: Environment = Field(
        "local", description="local = the embedded stack and tests (public default keys allowed); production = any"
        " other deployment (the chart and deploy/compose.yaml set it): every process refuses to start on a default"
        " or short key (gamemetrics/keys.py).",
    )
    kafka_bootstrap_servers: str = Field(
        f"127.0.0.1:{LOCAL_KAFKA_PORT}", description="Kafka bootstrap servers, comma separated."
    )
    kafka_security_protocol: KafkaSecurityProtocol = Field(
        "PLAINTEXT", description="How clients talk to Kafka: PLAINTEXT (local stack), SASL_SSL (secured stack, production)."
    )
    kafka_sasl_mechanism: KafkaSaslMechanism = Field("SCRAM-SHA-512", description="SASL mechanism (SASL_* protocols).")
    kafka_sasl_username: str = Field("", description="SASL user: one principal per service (docs: operations, Kafka security).")
    kafka_sasl_password: SecretStr = Field(SecretStr(""), description="SASL password of that user.")
    kafka_ssl_ca_file: Path | None = Field(
        None, description="PEM file of the CA that signed the brokers' certificates (SSL protocols); empty = system CAs."
    )
    database_url: str = Field(
        f"postgresql://gamemetrics@127.0.0.1:{LOCAL_POSTGRES_PORT}/gamemetrics",
        description="PostgreSQL URL (libpq form, no driver suffix).",
    )
    database_read_url: str = Field(
        "", description="PostgreSQL URL of a streaming replica for read-only queries (the GraphQL API's); empty ="
        " database_url. Reads there lag the primary by the replica's replay lag."
    )
    redis_url: str = Field(f"redis://127.0.0.1:{LOCAL_REDIS_PORT}/0", description="Redis URL.")
    qdrant_url: str = Field("", description="Qdrant server URL; empty = the embedded store, owned by the recommender service."
                            " https:// = TLS.")
    qdrant_api_key: SecretStr = Field(SecretStr(""), description="API key of the Qdrant server (its"
                                      " QDRANT__SERVICE__API_KEY); empty = none.")
    qdrant_ca_file: Path | None = Field(None, description="PEM file of the CA that signed the Qdrant server's TLS"
                                        " certificate (https URLs); empty = system CAs.")
    schema_registry_url: str = Field(
        "", description="Confluent-compatible Schema Registry URL; empty = the catalog in schemas/."
    )
    state_dir: Path = Field(Path(".gamemetrics"), description="Local state: service data, logs, pid files.")
    topic_prefix: str = Field("", description="Prefix for every topic name (isolates tests and tenants).")
    database_schema: str = Field(
        "gamemetrics", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="PostgreSQL schema holding our tables."
    )
    privacy_key: SecretStr = Field(
        SecretStr(LOCAL_PRIVACY_KEY),
        description="HMAC key of the keyed player-id hashes (tombstones, GDPR requests, audit log). Set your own"
        " in production and never change it: tombstones are found by it.",
    )
    audit_key: SecretStr = Field(
        SecretStr(LOCAL_AUDIT_KEY),
        description="HMAC key of the audit log's hash chain: who can write the table cannot forge the chain.",
    )
    secret_box_key: SecretStr = Field(
        SecretStr(LOCAL_SECRET_BOX_KEY),
        description="Key that encrypts the secrets we must be able to read back (GameAnalytics secret keys, "
        "store/secret_box.py). Set your own in production; changing it makes the stored secrets unreadable.",
    )
    avro_codec: Literal["auto", "native", "fastavro"] = Field(
        "auto",
        description="Avro codec of the hot paths: auto = the compiled gamemetrics_avro when installed, "
        "native = refuse to start without it, fastavro = the reference (schemas/wire.py).",
    )
    log_format: Literal["json", "console"] = Field("console", description="Structured log rendering.")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Lowest level of the structured logs written.")

    def topic(self, name: str) -> str:
        """The full name of one of the topics of ARCHITECTURE.md for this deployment."""
        return f"{self.topic_prefix}{name}"

    def kafka_security(self) -> dict[str, str]:
        """The security part of a confluent-kafka (librdkafka) client config; empty for PLAINTEXT.
        (Faust/aiokafka: ``streams.app.faust_credentials``.)"""
        config: dict[str, str] = {}
        if self.kafka_security_protocol != "PLAINTEXT":
            config["security.protocol"] = self.kafka_security_protocol
        if self.kafka_security_protocol.startswith("SASL_"):
            config["sasl.mechanism"] = self.kafka_sasl_mechanism
            config["sasl.username"] = self.kafka_sasl_username
            config["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_security_protocol.endswith("SSL") and self.kafka_ssl_ca_file is not None:
            config["ssl.ca.location"] = str(self.kafka_ssl_ca_file)
        return config

    def kafka_config(self, **extra: object) -> dict[str, object]:
        """A confluent-kafka client config: bootstrap servers, security, then ``extra`` (dots as underscores
        are not translated: pass ``**{"group.id": ...}``)."""
        return {"bootstrap.servers": self.kafka_bootstrap_servers, **self.kafka_security(), **extra}

    def explicitly_set(self, field: str) -> bool:
        """True when ``field`` came from the environment (or the caller), not from the default."""
        return field in self.model_fields_set

    @property
    def read_database_url(self) -> str:
        """Where read-only queries go: the replica when one is configured, else the primary."""
        return self.database_read_url or self.database_url

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg (v3) driver named, for SQLAlchemy."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url


class TracingSettings(BaseSettings):
    """Whether this process traces (``gamemetrics.tracing``), from the standard OpenTelemetry variables.

    Tracing is OFF unless ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``, or ``none``
    = spans made and dropped, to measure their cost), and ``OTEL_SDK_DISABLED=true`` turns it off
    whatever the exporter. Everything else (endpoint, headers, sampler, batch processor, limits) is
    the SDK's to read from its own OTEL_* variables; only what decides whether to install it is here.
    """

    model_config = SettingsConfigDict(env_prefix="OTEL_", frozen=True, extra="ignore")

    traces_exporter: str = Field(
        "", description="Comma-separated span exporters: otlp, console, none; empty = tracing off (our default, "
        "unlike the SDK's otlp: tracing costs nothing until a deployment asks for it)."
    )
    sdk_disabled: bool = Field(False, description="true = no tracing whatever OTEL_TRACES_EXPORTER says.")
    service_name: str = Field("", description="service.name of the spans; empty = the service's own (gamemetrics-ingest, ...).")
    exporter_otlp_protocol: str = Field("http/protobuf", description="OTLP transport; http/protobuf is the one installed.")
    exporter_otlp_traces_protocol: str = Field("", description="OTLP transport of traces; empty = OTEL_EXPORTER_OTLP_PROTOCOL.")

    @property
    def exporters(self) -> list[str]:
        return [name.strip().lower() for name in self.traces_exporter.split(",") if name.strip()]

    @property
    def enabled(self) -> bool:
        return not self.sdk_disabled and bool(self.exporters)


def load_tracing_settings() -> TracingSettings:
    """Read OTEL_TRACES_EXPORTER and friends once, at a service's start-up."""
    return TracingSettings()


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
    revocation_refresh_s: float = Field(
        10.0, gt=0, description="How often each API process re-reads the revoked tokens (`gamemetrics tokens revoke`)"
        " from the audit log: a revoked token stops working within this."
    )


def core_keys(settings: Settings) -> list:
    """The keys every process holds, for ``gamemetrics.keys.require_strong``."""
    from gamemetrics.keys import Key

    return [Key("GAMEMETRICS_PRIVACY_KEY", settings.privacy_key, LOCAL_PRIVACY_KEY),
            Key("GAMEMETRICS_AUDIT_KEY", settings.audit_key, LOCAL_AUDIT_KEY)]


def secret_box_keys(settings: Settings) -> list:
    """The key that seals stored third-party secrets, for ``gamemetrics.keys.require_strong`` (checked by the
    processes that open or seal them: the ingest service, ``gamemetrics games gameanalytics-keys``)."""
    from gamemetrics.keys import Key

    return [Key("GAMEMETRICS_SECRET_BOX_KEY", settings.secret_box_key, LOCAL_SECRET_BOX_KEY)]


def token_keys(settings: TokenSettings) -> list:
    """The bearer tokens' secret, for ``gamemetrics.keys.require_strong`` (the APIs check it at start-up)."""
    from gamemetrics.keys import Key

    return [Key("GAMEMETRICS_GRAPHQL_JWT_SECRET", settings.jwt_secret, DEVELOPMENT_JWT_SECRET)]


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

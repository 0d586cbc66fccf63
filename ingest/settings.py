"""Settings of the ingest service, read once at start-up from ``GAMEMETRICS_INGEST_*``."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.limits import EVENT_FUTURE_TOLERANCE_S, EVENT_PAST_HORIZON_S


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_INGEST_", frozen=True, extra="ignore")

    max_body_bytes: int = Field(1024 * 1024, gt=0, description="Largest body accepted, after gunzip.")
    max_events: int = Field(1000, gt=0, description="Most events in one request.")
    future_tolerance_s: int = Field(EVENT_FUTURE_TOLERANCE_S, ge=0, description="How far after server time a corrected event time may be.")
    past_horizon_s: int = Field(EVENT_PAST_HORIZON_S, gt=0, description="How far before server time a corrected event time may be.")
    rate_limit_events_per_s: float = Field(20_000.0, gt=0, description="Per-game sustained rate (token bucket refill).")
    rate_limit_burst: int = Field(40_000, gt=0, description="Per-game bucket size: events accepted at once.")
    retry_after_s: int = Field(5, gt=0, description="Retry-After sent with 503.")
    kafka_delivery_timeout_ms: int = Field(10_000, gt=0, description="Longest wait for Kafka's ack before 503.")
    producer_linger_ms: int = Field(5, ge=0, description="Producer batching delay.")
    key_cache_ttl_s: float = Field(
        10.0, ge=0, description="How long a resolved API key is cached per process; a rotated-out key stops within grace + this."
    )
    ip_hash_salt: SecretStr = Field(
        SecretStr(""), description="Salt of the client-IP hash; empty = a random salt per process (hashes then do not join across processes)."
    )
    country_header: str = Field(
        "", description="Header set by a trusted edge (e.g. CF-IPCountry) whose ISO country fills events without one."
    )


def load_ingest_settings(**overrides: object) -> IngestSettings:
    return IngestSettings(**overrides)  # type: ignore[arg-type]

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
    rate_limit_lease_s: float = Field(
        0.05, ge=0, description="Seconds of the game's rate a process leases from Redis at once (at most the burst); "
        "N processes stray from the shared budget by at most N x lease. 0 = ask Redis on every request (exact)."
    )
    rate_limit_lease_ttl_s: float = Field(
        1.0, gt=0, description="How long a leased chunk may be spent; the rest is then dropped (never over-admits later)."
    )
    step_sample_every: int = Field(
        16, ge=1, description="One request in this many is timed for gamemetrics_ingest_step_seconds_total (scaled up)."
    )
    retry_after_s: int = Field(5, gt=0, description="Retry-After sent with 503.")
    kafka_delivery_timeout_ms: int = Field(10_000, gt=0, description="Longest wait for Kafka's ack before 503.")
    producer_linger_ms: int = Field(5, ge=0, description="Producer batching delay.")
    key_cache_ttl_s: float = Field(
        10.0, ge=0, description="How long a resolved API key is cached per process; a rotated-out key stops within grace + this."
    )
    negative_key_cache_max: int = Field(
        10_000, gt=0, description="Most unknown API keys remembered per process (each for 5 s) so repeats skip PostgreSQL."
    )
    auth_failures_per_s: float = Field(
        1.0, gt=0, description="Per client address and process: refused API keys (401) allowed per second, sustained."
    )
    auth_failures_burst: int = Field(
        20, gt=0, description="Per client address and process: refused API keys allowed at once; over it: 429 + Retry-After."
    )
    auth_failure_addresses_max: int = Field(
        50_000, gt=0, description="Most client addresses whose 401 budget a process tracks (least recently seen dropped)."
    )
    ip_hash_salt: SecretStr = Field(
        SecretStr(""), description="Salt of the client-IP hash; empty = a random salt per process (hashes then do not join across processes)."
    )
    country_header: str = Field(
        "", description="Header set by a trusted edge (e.g. CF-IPCountry) whose ISO country fills events without one."
    )
    cors_origins: tuple[str, ...] = Field(
        ("*",), description='Origins browsers may post from (JSON list, e.g. ["https://game.example"]); "*" = any: '
        "the key authenticates, not the origin."
    )
    cors_max_age_s: int = Field(86_400, ge=0, description="How long a browser caches a CORS preflight answer.")
    segment_max_event_bytes: int = Field(32 * 1024, gt=0, description="Segment API: largest message (Segment's 32 KB).")
    segment_max_batch_bytes: int = Field(500 * 1024, gt=0, description="Segment API: largest batch body (Segment's 500 KB).")
    ga_key_cache_ttl_s: float = Field(
        60.0, ge=0, description="How long a GameAnalytics game key's game and secret are cached per process."
    )


def load_ingest_settings(**overrides: object) -> IngestSettings:
    return IngestSettings(**overrides)  # type: ignore[arg-type]

"""Settings of the landing workers, read once at start-up from ``GAMEMETRICS_WORKER_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_WORKER_", frozen=True, extra="ignore")

    take_max_messages: int = Field(500, gt=0, description="Most Kafka messages landed in one transaction.")
    take_within_s: float = Field(0.2, gt=0, description="Longest wait to fill a transaction.")
    max_poll_records: int = Field(500, gt=0, description="Most Kafka messages one consumer poll returns.")
    fetch_max_bytes: int = Field(
        1024**2, ge=64 * 1024,
        description="Most bytes one fetch brings per partition (at least the largest raw message); bigger fetches "
        "fill a transaction in fewer round trips under load.",
    )
    retry_first_delay_s: float = Field(0.5, gt=0, description="First wait after PostgreSQL or Kafka failed a batch.")
    retry_max_delay_s: float = Field(
        2.0, gt=0, description="Longest wait between retries (doubling up to it); short so landing resumes within "
        "seconds of Kafka or PostgreSQL coming back (the fault drill: 21 s after a broker restart with 10 s, 8.6 s with 2 s)."
    )
    metrics_port: int = Field(9464, ge=0, description="Prometheus /metrics port of the worker; 0 = off.")
    metrics_host: str = Field(
        "127.0.0.1", description="Interface of the worker's /metrics; 0.0.0.0 in a container so Prometheus can scrape it."
    )
    rates_refresh_s: float = Field(60.0, gt=0, description="How often the currency table is re-read.")
    lag_interval_s: float = Field(5.0, gt=0, description="How often consumer lag is measured.")
    max_processing_error_share: float = Field(
        0.1, ge=0, le=1,
        description="Stop the worker (without committing) when more than this share of the last "
        "processing_error_window messages failed as processing_error: a bad deploy, not bad data.",
    )
    processing_error_window: int = Field(1000, gt=0, description="Messages over which that share is counted.")
    dedup_keep_days: int = Field(
        35, gt=0,
        description="Days (by the client's clock) an event's dedup key is kept: a client retry within them lands "
        "once whatever its sent_at. At least the ingest's past horizon (30 days).",
    )

"""Settings of the recommender, read once at start-up from ``GAMEMETRICS_RECOMMENDER_*``.

Where the services are (Qdrant, Redis, Kafka, PostgreSQL) is the foundation's ``Settings``
(``GAMEMETRICS_QDRANT_URL`` empty = Qdrant local mode under the state dir); the bearer tokens'
keys are the foundation's ``TokenSettings``. This file holds what only the recommender reads.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RecommenderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_RECOMMENDER_", frozen=True, extra="ignore")

    # training (gamemetrics recommender train)
    factors: int = Field(64, gt=1, le=512, description="Dimensions of the player and item vectors (TruncatedSVD components).")
    window_days: int = Field(90, gt=0, description="Days of landed events a model is trained on.")
    half_life_days: float = Field(30.0, gt=0, description="An interaction's weight halves every this many days of age.")
    bm25_k1: float = Field(1.2, gt=0, description="BM25 term-frequency saturation of the player x item matrix.")
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation (0 = none).")
    keep_models: int = Field(2, ge=1, description="Model versions kept per game (the live one included); older are dropped.")
    popular_per_segment: int = Field(200, gt=0, description="Items kept per (platform, country) segment for cold start.")
    seed: int = Field(0, description="Random seed of the SVD (fixed: the same data trains the same model).")

    # serving (gamemetrics serve recommender)
    default_k: int = Field(10, gt=0, description="Items (or players) returned when k is not given.")
    max_k: int = Field(100, gt=0, description="Largest k a request may ask for.")
    cache_ttl_s: int = Field(300, gt=0, description="Lifetime of a player's cached answers in Redis.")
    cache_lock_ms: int = Field(2_000, gt=0, description="How long one process holds the recompute lock of a key.")
    cache_wait_ms: int = Field(250, ge=0, description="How long a request waits for another's recompute before computing itself.")
    redis_timeout_s: float = Field(0.25, gt=0, description="Socket timeout of Redis calls; past it the request is served from Qdrant.")
    redis_retry_s: float = Field(5.0, gt=0, description="After a Redis failure, bypass the cache this long before trying again.")
    model_refresh_s: float = Field(5.0, gt=0, description="How often a process re-reads which model version is live.")
    fold_in_in_api: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Run the fold-in consumer inside `serve recommender`. auto = on with the embedded store (the service "
        "owns it), off with a Qdrant server (run `gamemetrics recommender worker`).",
    )

    # the embedded store (GAMEMETRICS_QDRANT_URL empty) and its owner
    embedded_engine: Literal["edge", "local"] = Field(
        "edge",
        description="Engine of the embedded store: edge = Qdrant's engine in-process (qdrant-edge-py, "
        "<state dir>/qdrant-edge), local = qdrant-client's local mode (<state dir>/qdrant; small games only: "
        "see bench/RESULTS.md).",
    )
    service_url: str = Field(
        "http://127.0.0.1:8070",
        description="The recommender service that owns the embedded vector store: `recommender train`, forget and "
        "export reach the store through its admin API while it runs (directly when it does not).",
    )
    admin_token_ttl_s: int = Field(900, gt=0, description="Lifetime of the admin token a command mints for the service's admin API.")
    admin_upsert_batch: int = Field(2_000, gt=0, description="Points per admin upsert request (training through the service).")

    # Qdrant
    qdrant_timeout_s: float = Field(10.0, gt=0, description="Timeout of a Qdrant request.")
    qdrant_prefer_grpc: bool = Field(False, description="Talk gRPC to a Qdrant server (port: qdrant_grpc_port).")
    qdrant_grpc_port: int = Field(6334, gt=0, description="gRPC port of the Qdrant server.")

    # worker (gamemetrics recommender worker)
    worker_metrics_port: int = Field(9466, ge=0, description="Prometheus port of the fold-in worker (0 = off).")
    worker_take_max: int = Field(200, gt=0, description="Processed batches folded in per step at most.")
    worker_take_within_s: float = Field(0.2, gt=0, description="Longest wait to fill a step.")

"""Settings of retention, archival and GDPR, read once at start-up and passed in.

- ``S3Settings`` (``GAMEMETRICS_S3_*``): where the archives and export bundles go. The defaults
  point at the local stack's S3 server (Versity Gateway, started by ``gamemetrics stack up``); any
  S3 (AWS, MinIO, Ceph, SeaweedFS) works by setting them.
- ``RetentionSettings`` (``GAMEMETRICS_RETENTION_*``): the default policy of each store, in days;
  ``gamemetrics retention policy set`` overrides one for one game (table retention_policies).
- ``GdprSettings`` (``GAMEMETRICS_GDPR_*``): the receipt signing key, export link lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gamemetrics.keys import Key
from gamemetrics.settings import TokenSettings
from recommender.settings import RecommenderSettings

LOCAL_S3_PORT = 19000  # below the ephemeral range, like the others (gamemetrics/settings.py)
LOCAL_S3_SECRET = "gamemetrics-local-secret"
LOCAL_RECEIPT_KEY = "gamemetrics-local-receipt-key"
S3_SECRET_MIN_BYTES = 16  # S3 secrets are provider-made (AWS: 40 characters); MinIO refuses fewer than 8


class S3Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_S3_", frozen=True, extra="ignore")

    endpoint_url: str = Field(
        f"http://127.0.0.1:{LOCAL_S3_PORT}", description="S3 endpoint; empty = AWS's own for the region."
    )
    bucket: str = Field("gamemetrics", description="Bucket of the archives (events/...) and exports (exports/...).")
    access_key_id: str = Field("gamemetrics", description="Access key id.")
    secret_access_key: SecretStr = Field(SecretStr(LOCAL_S3_SECRET), description="Secret access key.")
    region: str = Field("us-east-1", description="Region (signing).")
    create_bucket: bool = Field(True, description="Create the bucket when missing (off where buckets are managed).")

    def explicitly_set(self, field: str) -> bool:
        return field in self.model_fields_set


class RetentionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_RETENTION_", frozen=True, extra="ignore")

    events_hot_days: int = Field(90, gt=0, description="Days of player_events kept in PostgreSQL, then archived.")
    archive_days: int = Field(730, gt=0, description="Days an archived day is kept in object storage (2 years).")
    rollup_days: int = Field(761, gt=0, description="Days of rollups and daily activity kept (25 months).")
    dead_letter_days: int = Field(30, gt=0, description="Days of dead letters kept (system.dlq topic retention).")
    notification_log_days: int = Field(30, gt=0, description="Days of the notification delivery log kept.")
    compress_after_days: int = Field(7, gt=0, description="TimescaleDB: compress chunks older than this (native: no-op).")
    restore_keep_days: int = Field(7, ge=0, description="Days a restored day stays in PostgreSQL before the pass drops it again.")
    bucket_rows: int = Field(20_000, gt=0, description="Rows per archive object: a bigger day is split by player into"
                             " buckets, so an erase rewrites only its player's bucket.")
    row_group_rows: int = Field(250_000, gt=0, description="Rows per Parquet row group (and per read from PostgreSQL).")


class GdprSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_GDPR_", frozen=True, extra="ignore")

    receipt_key: SecretStr = Field(
        SecretStr(LOCAL_RECEIPT_KEY),
        description="HMAC-SHA256 key that signs erase/export receipts; set your own in production.",
    )
    lease_s: float = Field(1800.0, gt=0, description="How long a job holds a request without finishing a store; a"
                           " request left running by a killed job is taken over once it expires (renewed per store).")
    export_url_ttl_s: int = Field(7 * 24 * 3600, gt=0, le=7 * 24 * 3600,
                                  description="Lifetime of an export's presigned URL (S3 allows 7 days at most).")


def gdpr_keys(s3: S3Settings, gdpr: GdprSettings) -> list[Key]:
    """The keys of an erase or export, for ``gamemetrics.keys.require_strong`` (checked by ``GdprJob``)."""
    return [Key("GAMEMETRICS_GDPR_RECEIPT_KEY", gdpr.receipt_key, LOCAL_RECEIPT_KEY),
            Key("GAMEMETRICS_S3_SECRET_ACCESS_KEY", s3.secret_access_key, LOCAL_S3_SECRET, S3_SECRET_MIN_BYTES)]


@dataclass(frozen=True)
class OtherStages:
    """The settings of the other stages whose stores an erase or export reaches (the recommender's
    Qdrant and cache, and the tokens that open its service), read once by the command or API
    process that starts the job: the job and its forgetters read no environment."""

    recommender: RecommenderSettings
    tokens: TokenSettings

    @classmethod
    def load(cls) -> OtherStages:
        return cls(RecommenderSettings(), TokenSettings())


@dataclass(frozen=True)
class JobSettings:
    """Everything a GDPR job run by another process (the GraphQL API's ``runNow``) needs besides
    ``Settings``, read once when that process starts."""

    s3: S3Settings
    retention: RetentionSettings
    gdpr: GdprSettings
    stages: OtherStages

    @classmethod
    def load(cls) -> JobSettings:
        return cls(S3Settings(), RetentionSettings(), GdprSettings(), OtherStages.load())

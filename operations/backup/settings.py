"""Settings of ``gamemetrics backup``, read once from ``GAMEMETRICS_BACKUP_*``.

pgBackRest keeps its repository in an S3 bucket (any S3; locally the stack's versitygw served over
TLS, since pgBackRest speaks S3 over HTTPS only), encrypted at rest with ``cipher_pass``
(aes-256-cbc, done by pgBackRest before upload: the bucket never sees plaintext).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The stack's S3 server, a second listener over TLS for pgBackRest (below the ephemeral range).
LOCAL_S3_TLS_PORT = 19443


class BackupSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_BACKUP_", frozen=True, extra="ignore")

    stanza: str = Field("gamemetrics", pattern=r"^[a-z][a-z0-9_-]{0,62}$", description="pgBackRest stanza (one per cluster).")
    s3_endpoint: str = Field(
        "localhost", description="S3 endpoint host name (HTTPS; the name its certificate carries: pgBackRest checks"
        " DNS names, not IP addresses)."
    )
    s3_host: str = Field(
        "", description="Address to connect to when it differs from the endpoint; empty = the endpoint. (pgBackRest then"
        " checks the certificate against this name.)"
    )
    s3_port: int = Field(LOCAL_S3_TLS_PORT, gt=0, lt=65536, description="Port of the S3 endpoint.")
    s3_bucket: str = Field("gamemetrics-backup", description="Bucket of the repository (its own, not the archives').")
    s3_path: str = Field("/pgbackrest", description="Prefix of the repository in the bucket.")
    s3_region: str = Field("us-east-1", description="Region (signing).")
    s3_access_key_id: str = Field("gamemetrics", description="Access key id.")
    s3_secret_access_key: SecretStr = Field(SecretStr("gamemetrics-local-secret"), description="Secret access key.")
    s3_ca_file: Path | None = Field(None, description="PEM of the CA that signed the endpoint's certificate; empty = system CAs.")
    s3_uri_style: str = Field("path", pattern="^(path|host)$", description="path (MinIO, versitygw) or host (AWS).")
    cipher_pass: SecretStr = Field(
        SecretStr("gamemetrics-local-backup-passphrase"),
        description="Passphrase of the repository's encryption (aes-256-cbc). Set your own in production and keep"
        " it apart from the backups: without it nothing can be restored.",
    )
    retention_full: int = Field(2, gt=0, description="Full backups kept (and the incrementals and WAL they need).")
    retention_diff: int = Field(6, gt=0, description="Differential backups kept.")
    archive_timeout_s: int = Field(
        60, ge=0, description="archive_timeout of the cluster: the longest a WAL segment waits to be archived (the RPO"
        " of a lost disk when writes are rare)."
    )
    process_max: int = Field(1, gt=0, description="pgBackRest processes for backup/restore (compression, transfer).")

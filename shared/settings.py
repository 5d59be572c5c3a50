"""Configuration read from environment variables (pydantic-settings); no secrets in code."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ServiceName = Literal["console", "requests", "allocation", "notifications"]
# The three services behind the console: each owns topics, consumers and a public API.
SERVICE_NAMES: tuple[ServiceName, ...] = ("requests", "allocation", "notifications")
# Every process `vidnova up` runs, the console (port 8000, its settings in services/console/) first.
ALL_SERVICE_NAMES: tuple[ServiceName, ...] = ("console", *SERVICE_NAMES)
DEFAULT_PORTS: dict[ServiceName, int] = {"requests": 8001, "allocation": 8002, "notifications": 8003}
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "dev", "development", "test"})
MIN_SECRET_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The process cannot start with this configuration."""


class KafkaSettings(BaseSettings):
    """How to reach the broker and how producers and consumers behave."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    topic_prefix: str = Field("vidnova", validation_alias="VIDNOVA_TOPIC_PREFIX")
    # Apache Kafka: idempotent producer. The embedded Tansu broker cannot do InitProducerId.
    enable_idempotence: bool = Field(True, validation_alias="KAFKA_ENABLE_IDEMPOTENCE")
    # Tansu answers a waiting fetch only at the deadline, so this bounds each hop's latency.
    fetch_max_wait_ms: int = Field(10, ge=1, validation_alias="KAFKA_FETCH_MAX_WAIT_MS")
    heartbeat_interval_ms: int = Field(100, ge=10, validation_alias="KAFKA_HEARTBEAT_INTERVAL_MS")
    session_timeout_ms: int = Field(10_000, ge=1000, validation_alias="KAFKA_SESSION_TIMEOUT_MS")
    rebalance_timeout_ms: int = Field(3_000, ge=1000, validation_alias="KAFKA_REBALANCE_TIMEOUT_MS")
    topic_partitions: int = Field(3, ge=1, validation_alias="KAFKA_TOPIC_PARTITIONS")
    topic_replication_factor: int = Field(1, ge=1, validation_alias="KAFKA_TOPIC_REPLICATION_FACTOR")
    # Set on the topics this system creates (unset: the broker's default). With three replicas and
    # acks=all, 2 means an acknowledged event survives the loss of any one broker.
    topic_min_insync_replicas: int | None = Field(
        None, ge=1, validation_alias="KAFKA_TOPIC_MIN_INSYNC_REPLICAS"
    )
    max_handler_attempts: int = Field(3, ge=1, validation_alias="CONSUMER_MAX_ATTEMPTS")
    retry_backoff_ms: int = Field(200, ge=1, validation_alias="CONSUMER_RETRY_BACKOFF_MS")
    # Events of one partition handled in one transaction (1: a transaction per event).
    batch_size: int = Field(50, ge=1, le=500, validation_alias="CONSUMER_BATCH_SIZE")
    # Handled offsets are committed at most this often (0: after every batch), and whenever a poll
    # comes back empty, on rebalance and on shutdown. Later is safe: processed_events dedupes re-reads.
    commit_interval_ms: int = Field(100, ge=0, le=60_000, validation_alias="CONSUMER_COMMIT_INTERVAL_MS")
    # How often a consumer checks that the log it reads was not reset under it (shared/log_reset.py).
    log_check_interval_ms: int = Field(1_000, ge=50, validation_alias="CONSUMER_LOG_CHECK_INTERVAL_MS")
    # Static group membership (KIP-345): a restarted member takes its partitions back without a
    # rebalance or waiting out its old session. Tansu does not support it (members never join).
    static_membership: bool = Field(True, validation_alias="KAFKA_STATIC_MEMBERSHIP")
    # Stable per process identity, unique among instances of one service; derived when unset.
    group_instance_id: str | None = Field(None, validation_alias="CONSUMER_GROUP_INSTANCE_ID")

    # SPEC §14.4: how clients authenticate to the broker and verify it.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL"
    )
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", validation_alias="KAFKA_SASL_MECHANISM"
    )
    sasl_username: str | None = Field(None, validation_alias="KAFKA_SASL_USERNAME")
    sasl_password: SecretStr | None = Field(None, validation_alias="KAFKA_SASL_PASSWORD")
    ssl_cafile: Path | None = Field(None, validation_alias="KAFKA_SSL_CAFILE")
    ssl_certfile: Path | None = Field(None, validation_alias="KAFKA_SSL_CERTFILE")
    ssl_keyfile: Path | None = Field(None, validation_alias="KAFKA_SSL_KEYFILE")

    @model_validator(mode="after")
    def _check_security(self) -> KafkaSettings:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together")
        return self

    def topic(self, stream: str) -> str:
        """Full topic name for a stream such as ``requests``."""
        return f"{self.topic_prefix}.{stream}"


class AuthSettings(BaseSettings):
    """Token verification: HS256 with a shared secret, or RS256 from a JWKS URL."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: Literal["development", "production"] = Field("development", validation_alias="VIDNOVA_ENV")
    secret: SecretStr | None = Field(None, validation_alias="VIDNOVA_AUTH_SECRET")
    jwks_url: str | None = Field(None, validation_alias="VIDNOVA_JWKS_URL")
    audience: str | None = Field(None, validation_alias="VIDNOVA_AUTH_AUDIENCE")
    issuer: str | None = Field(None, validation_alias="VIDNOVA_AUTH_ISSUER")
    jwks_ttl_s: float = Field(300.0, gt=0, validation_alias="VIDNOVA_JWKS_TTL_S")
    # An unknown key id makes the service fetch the JWKS again, but not more often than this.
    jwks_min_refresh_s: float = Field(60.0, ge=0, validation_alias="VIDNOVA_JWKS_MIN_REFRESH_S")
    state_dir: Path = Field(Path(".vidnova"), validation_alias="VIDNOVA_STATE_DIR")

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> AuthSettings:
        if self.secret is not None:
            value = self.secret.get_secret_value()
            if value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"VIDNOVA_AUTH_SECRET must be at least {MIN_SECRET_LENGTH} random characters"
                )
        return self

    def check_jwks(self) -> None:
        """JWKS mode needs the issuer it trusts, and in production the audience it is."""
        if not self.jwks_url:
            return
        if not self.issuer:
            raise ConfigurationError("VIDNOVA_AUTH_ISSUER is required with VIDNOVA_JWKS_URL")
        if self.environment == "production" and not self.audience:
            raise ConfigurationError("VIDNOVA_AUTH_AUDIENCE is required with VIDNOVA_JWKS_URL in production")

    def signing_secret(self) -> str:
        """The HS256 secret; in development a generated one kept under the state directory."""
        if self.secret is not None:
            return self.secret.get_secret_value()
        if self.environment == "production":
            raise ConfigurationError("VIDNOVA_AUTH_SECRET (or VIDNOVA_JWKS_URL) is required in production")
        return load_or_create_dev_secret(self.state_dir)


def load_or_create_dev_secret(state_dir: Path, *, name: str = "auth-secret") -> str:
    """Read a development secret, generating it once (mode 0600)."""
    path = state_dir / name
    if path.exists():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


class RetentionSettings(BaseSettings):
    """How long finished rows are kept, and how the pruning job paces itself."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    outbox_days: float = Field(7.0, gt=0, validation_alias="RETENTION_OUTBOX_DAYS")
    processed_events_days: float = Field(7.0, gt=0, validation_alias="RETENTION_PROCESSED_EVENTS_DAYS")
    deliveries_days: float = Field(30.0, gt=0, validation_alias="RETENTION_DELIVERIES_DAYS")
    batch_size: int = Field(1000, ge=1, le=100_000, validation_alias="RETENTION_BATCH_SIZE")
    interval_s: float = Field(3600.0, gt=0, validation_alias="RETENTION_INTERVAL_S")

    @model_validator(mode="after")
    def _dedupe_outlives_replay(self) -> RetentionSettings:
        # An outbox row can be published again (a replay) as long as it is kept: the consumers'
        # processed-event row of its event must be kept at least as long (docs/contract-notes.md).
        if self.processed_events_days < self.outbox_days:
            raise ValueError("RETENTION_PROCESSED_EVENTS_DAYS must be at least RETENTION_OUTBOX_DAYS")
        return self


class ServiceSettings(BaseSettings):
    """Everything one service process reads; subclasses name the service's own variables."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service: ServiceName
    database_url: str
    port: int
    # PostgreSQL connections one process keeps (and as many again under bursts); SQLite always uses one.
    database_pool_size: int = Field(10, ge=1, le=100, validation_alias="DATABASE_POOL_SIZE")
    host: str = Field("127.0.0.1", validation_alias="VIDNOVA_HOST")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    log_format: Literal["json", "text"] = Field("json", validation_alias="LOG_FORMAT")
    outbox_poll_interval_s: float = Field(1.0, gt=0, validation_alias="OUTBOX_POLL_INTERVAL_S")
    outbox_batch_size: int = Field(500, ge=1, validation_alias="OUTBOX_BATCH_SIZE")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, validation_alias="MAX_BODY_BYTES")
    # Writes per person per minute in this process (0: no limit, e.g. benchmarks through few tokens).
    rate_limit_writes_per_min: int = Field(120, ge=0, validation_alias="RATE_LIMIT_WRITES_PER_MIN")
    # OpenTelemetry traces go here over OTLP/HTTP; unset, tracing is off (shared/tracing.py).
    otlp_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    def consumer_instance_id(self) -> str | None:
        """The group instance id of this process's consumers, None without static membership.

        Host and port name one instance: a restart on the same port is the same member, and two
        instances of a service cannot share a port on one host.
        """
        if not self.kafka.static_membership:
            return None
        return self.kafka.group_instance_id or f"{self.service}-{socket.gethostname()}-{self.port}"


def sqlite_url(name: str) -> str:
    """The embedded default database of a service: a SQLite file under ``.vidnova/``."""
    return f"sqlite+aiosqlite:///.vidnova/{name}.db"

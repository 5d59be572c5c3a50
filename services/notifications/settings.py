"""Settings of the notifications service: SMTP, webhooks, streams, and the delivery worker's pacing."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import (
    DEFAULT_PORTS,
    MIN_SECRET_LENGTH,
    ConfigurationError,
    ServiceName,
    ServiceSettings,
    load_or_create_dev_secret,
    sqlite_url,
)


class DeliverySettings(BaseSettings):
    """Retries, timeouts and concurrency of e-mail and webhook deliveries."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    max_attempts: int = Field(8, ge=1, le=50, validation_alias="DELIVERY_MAX_ATTEMPTS")
    # Exponential backoff with jitter: attempt n waits between half and all of base * 2**(n-1), capped.
    backoff_base_s: float = Field(5.0, gt=0, validation_alias="DELIVERY_BACKOFF_BASE_S")
    backoff_max_s: float = Field(3600.0, gt=0, validation_alias="DELIVERY_BACKOFF_MAX_S")
    attempt_timeout_s: float = Field(10.0, gt=0, le=300, validation_alias="DELIVERY_ATTEMPT_TIMEOUT_S")
    concurrency: int = Field(16, ge=1, le=512, validation_alias="DELIVERY_CONCURRENCY")
    poll_interval_s: float = Field(1.0, gt=0, validation_alias="DELIVERY_POLL_INTERVAL_S")

    @property
    def lease_s(self) -> float:
        """How long a claimed job stays invisible to other workers; outlives any attempt."""
        return 2 * self.attempt_timeout_s + 5.0


class NotificationsSettings(ServiceSettings):
    """Settings of the notifications service."""

    service: ServiceName = "notifications"
    database_url: str = Field(sqlite_url("notifications"), validation_alias="NOTIFICATIONS_DATABASE_URL")
    port: int = Field(DEFAULT_PORTS["notifications"], validation_alias="NOTIFICATIONS_PORT")
    smtp_host: str | None = Field(None, validation_alias="SMTP_HOST")
    smtp_port: int = Field(587, validation_alias="SMTP_PORT")
    smtp_username: str | None = Field(None, validation_alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, validation_alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(True, validation_alias="SMTP_STARTTLS")
    smtp_from: str = Field("Vidnova <noreply@vidnova.local>", validation_alias="SMTP_FROM")
    webhook_allow_private: bool = Field(False, validation_alias="WEBHOOK_ALLOW_PRIVATE")
    # Comma-separated; only consulted when private targets are not allowed (SPEC §14.1).
    webhook_allowed_ports: str = Field("80,443", validation_alias="WEBHOOK_ALLOWED_PORTS")
    webhook_secret: SecretStr | None = Field(None, validation_alias="WEBHOOK_SIGNING_SECRET")
    sse_max_streams: int = Field(500, ge=1, validation_alias="SSE_MAX_STREAMS")
    sse_max_streams_per_person: int = Field(5, ge=1, validation_alias="SSE_MAX_STREAMS_PER_PERSON")
    sse_ping_interval_s: float = Field(15.0, gt=0, validation_alias="SSE_PING_INTERVAL_S")
    # How often one shared query per process looks for inbox items written by other processes.
    sse_poll_interval_s: float = Field(1.0, gt=0, validation_alias="SSE_POLL_INTERVAL_S")
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)

    @model_validator(mode="after")
    def _check_webhook_settings(self) -> NotificationsSettings:
        self.allowed_webhook_ports()
        secret = self.webhook_secret
        if secret is not None and len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"WEBHOOK_SIGNING_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        return self

    def allowed_webhook_ports(self) -> frozenset[int]:
        """The ports webhook targets may use."""
        try:
            ports = frozenset(int(p) for p in self.webhook_allowed_ports.split(",") if p.strip())
        except ValueError as exc:
            raise ValueError("WEBHOOK_ALLOWED_PORTS must be a comma-separated list of ports") from exc
        if not ports or any(not 0 < p < 65536 for p in ports):
            raise ValueError("WEBHOOK_ALLOWED_PORTS must list ports between 1 and 65535")
        return ports

    def webhook_master_secret(self) -> str:
        """The key encrypting webhook secrets at rest (development: generated once into the state dir)."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        if self.auth.environment == "production":
            raise ConfigurationError("WEBHOOK_SIGNING_SECRET is required in production")
        return load_or_create_dev_secret(self.auth.state_dir, name="webhook-secret")

"""How the delivery worker paces itself; SMTP and webhook settings live in ``NotificationsSettings``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

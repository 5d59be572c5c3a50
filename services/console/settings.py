"""Settings of the console: its database, the services it calls, sessions and sign-in."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from shared.settings import ServiceName, ServiceSettings

CONSOLE_PORT = 8000


class ConsoleSettings(ServiceSettings):
    """Everything the console process reads from its environment."""

    service: ServiceName = "console"
    database_url: str = Field(
        "sqlite+aiosqlite:///.vidnova/console.db", validation_alias="CONSOLE_DATABASE_URL"
    )
    port: int = Field(CONSOLE_PORT, validation_alias="CONSOLE_PORT")
    requests_url: str = Field("http://127.0.0.1:8001", validation_alias="REQUESTS_URL")
    allocation_url: str = Field("http://127.0.0.1:8002", validation_alias="ALLOCATION_URL")
    notifications_url: str = Field("http://127.0.0.1:8003", validation_alias="NOTIFICATIONS_URL")
    # Where people reach the console: the base of the one-time links in invitation e-mails.
    public_url: str = Field("http://127.0.0.1:8000", validation_alias="CONSOLE_PUBLIC_URL")
    session_idle_s: float = Field(8 * 3600, gt=0, validation_alias="CONSOLE_SESSION_IDLE_S")
    session_absolute_s: float = Field(24 * 3600, gt=0, validation_alias="CONSOLE_SESSION_ABSOLUTE_S")
    # Lifetime of the token the console signs for each call to a service on a person's behalf (§12: ≤ 5 min).
    service_token_ttl_s: int = Field(300, ge=10, le=300, validation_alias="CONSOLE_SERVICE_TOKEN_TTL_S")
    upstream_timeout_s: float = Field(5.0, gt=0, le=60, validation_alias="CONSOLE_UPSTREAM_TIMEOUT_S")
    oidc_issuer: str | None = Field(None, validation_alias="CONSOLE_OIDC_ISSUER")
    oidc_client_id: str | None = Field(None, validation_alias="CONSOLE_OIDC_CLIENT_ID")
    oidc_client_secret: SecretStr | None = Field(None, validation_alias="CONSOLE_OIDC_CLIENT_SECRET")

    @model_validator(mode="after")
    def _check_oidc(self) -> ConsoleSettings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError(
                "CONSOLE_OIDC_ISSUER needs CONSOLE_OIDC_CLIENT_ID and CONSOLE_OIDC_CLIENT_SECRET"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` everywhere but development (plain http on this machine)."""
        return self.auth.environment != "development"

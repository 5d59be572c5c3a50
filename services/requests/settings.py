"""Settings of the requests service: the shared ones plus its database and port."""

from __future__ import annotations

from pydantic import Field

from shared.settings import DEFAULT_PORTS, ServiceName, ServiceSettings, sqlite_url


class RequestsSettings(ServiceSettings):
    """Settings of the requests service."""

    service: ServiceName = "requests"
    database_url: str = Field(sqlite_url("requests"), validation_alias="REQUESTS_DATABASE_URL")
    port: int = Field(DEFAULT_PORTS["requests"], validation_alias="REQUESTS_PORT")

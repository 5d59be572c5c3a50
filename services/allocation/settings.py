"""Settings of the allocation service, with the expiry sweep's pacing as a nested group."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.allocation.backlog import RematchRuns
from shared.settings import DEFAULT_PORTS, ServiceName, ServiceSettings, sqlite_url


class ExpirySettings(BaseSettings):
    """How often the leading instance looks for proposals past their TTL."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    interval_s: float = Field(30.0, gt=0, le=3600, validation_alias="PROPOSAL_EXPIRY_INTERVAL_S")


class StatementSettings(BaseSettings):
    """When the leading instance issues donors' monthly statements."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    interval_s: float = Field(3600.0, gt=0, le=86400, validation_alias="STATEMENT_CHECK_INTERVAL_S")
    # After the 1st 00:00 UTC: lets the month's last events reach the reports' projection first.
    delay_s: float = Field(3600.0, ge=0, le=7 * 86400, validation_alias="STATEMENT_DELAY_S")


class AllocationSettings(ServiceSettings):
    """Settings of the allocation service."""

    service: ServiceName = "allocation"
    database_url: str = Field(sqlite_url("allocation"), validation_alias="ALLOCATION_DATABASE_URL")
    port: int = Field(DEFAULT_PORTS["allocation"], validation_alias="ALLOCATION_PORT")
    proposal_ttl_s: float = Field(
        72 * 3600, gt=0, validation_alias=AliasChoices("PROPOSAL_TTL_S", "PROPOSAL_TTL")
    )
    expiry: ExpirySettings = Field(default_factory=ExpirySettings)
    statements: StatementSettings = Field(default_factory=StatementSettings)
    # Most unmet requests one re-match transaction takes; 0: the whole backlog in one transaction.
    rematch_slice_size: int = Field(100, ge=0, validation_alias="REMATCH_SLICE_SIZE")


@dataclass(frozen=True)
class Policy:
    """What use cases need from configuration: a proposal's wait, and where sliced re-matches stand."""

    proposal_ttl: timedelta
    runs: RematchRuns | None = field(default=None, compare=False)  # None: re-match in one transaction

    @classmethod
    def from_settings(cls, settings: AllocationSettings) -> Policy:
        """The policy the service's settings describe."""
        size = settings.rematch_slice_size
        return cls(
            proposal_ttl=timedelta(seconds=settings.proposal_ttl_s), runs=RematchRuns(size) if size else None
        )

"""How the allocation service paces its proposal-expiry sweep; the TTL is ``AllocationSettings``'."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import AllocationSettings


class ExpirySettings(BaseSettings):
    """How often the leading instance looks for proposals past their TTL."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    interval_s: float = Field(30.0, gt=0, le=3600, validation_alias="PROPOSAL_EXPIRY_INTERVAL_S")


@dataclass(frozen=True)
class Policy:
    """What use cases need from configuration: how long a proposal waits for a coordinator."""

    proposal_ttl: timedelta

    @classmethod
    def from_settings(cls, settings: AllocationSettings) -> Policy:
        """The policy the service's settings describe."""
        return cls(proposal_ttl=timedelta(seconds=settings.proposal_ttl_s))

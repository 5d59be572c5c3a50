"""Every catalog category, including one added tomorrow, can be requested, registered and matched:
the specs come from the catalog's own definition (`tests.factories.catalog_*_specs`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from services.allocation.matching import Demand, Supply, is_compatible, propose_allocations
from services.allocation.schemas import LotCreate
from services.requests.schemas import RequestCreate
from shared.catalog import all_categories, specs_satisfy, validate_lot_specs, validate_request_specs
from tests.factories import (
    catalog_lot_specs,
    catalog_request_specs,
    lot_body,
    request_body,
    request_submitted,
)

CATEGORIES = [category.name for category in all_categories()]


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_request_of_every_category_passes_the_schema_and_the_catalog(category: str) -> None:
    body = RequestCreate.model_validate(
        request_body(category=category, specs=catalog_request_specs(category))
    )
    assert validate_request_specs(body.category, body.specs) == catalog_request_specs(category)
    event = request_submitted(category=category, specs=validate_request_specs(body.category, body.specs))
    assert event.specs == catalog_request_specs(category)


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_lot_of_every_category_passes_the_schema_and_the_catalog(category: str) -> None:
    body = LotCreate.model_validate(lot_body(category=category, specs=catalog_lot_specs(category)))
    assert validate_lot_specs(body.category, body.specs) == catalog_lot_specs(category)


@pytest.mark.parametrize("category", CATEGORIES)
def test_the_lot_of_every_category_serves_its_request(category: str) -> None:
    request_specs, lot_specs = catalog_request_specs(category), catalog_lot_specs(category)
    assert specs_satisfy(request_specs, lot_specs)
    demand = Demand(
        request_id=UUID(int=1),
        region="UA-63",
        category=category,
        specs=request_specs,
        unmet=2,
        priority="high",
        front_line=False,
        needed_by=date(2026, 12, 1),
        submitted_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    supply = Supply(
        lot_id=UUID(int=2),
        donor_id="jica",
        category=category,
        specs=lot_specs,
        free=2,
        region="UA-32",
        available_from=date(2026, 11, 15),
    )
    assert is_compatible(demand, supply)
    (proposal,) = propose_allocations([demand], [supply], distance_km=lambda _origin, _region: 480.0)
    assert (proposal.request_id, proposal.lot_id, proposal.quantity) == (UUID(int=1), UUID(int=2), 2)

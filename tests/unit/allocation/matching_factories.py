"""Plain engine inputs for the matching tests: small factories, test distances, random instances."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from services.allocation.matching import Demand, Proposal, Proposals, Supply, propose_allocations

TODAY = date(2026, 3, 1)
# Regions on a line, positions in km: distance is the difference.
POSITIONS = {"UA-63": 0, "UA-59": 150, "UA-53": 200, "UA-32": 480, "UA-05": 700, "UA-46": 1000}
_ids = itertools.count(1)


def distance_km(origin: str, region: str) -> float:
    """Distance between two regions on the test line."""
    return float(abs(POSITIONS[origin] - POSITIONS[region]))


def demand(**overrides: Any) -> Demand:
    """A medium-priority request for one 100 kW generator in Kharkiv, needed in 30 days."""
    fields: dict[str, Any] = {
        "request_id": UUID(int=next(_ids)),
        "region": "UA-63",
        "category": "generator",
        "specs": {"power_kw": 100},
        "unmet": 1,
        "priority": "medium",
        "front_line": False,
        "needed_by": TODAY + timedelta(days=30),
        "submitted_at": datetime(2026, 2, 1, tzinfo=UTC),
    }
    return Demand(**{**fields, **overrides})


def supply(**overrides: Any) -> Supply:
    """One free 100 kW diesel generator in Kharkiv, available today, for any region."""
    fields: dict[str, Any] = {
        "lot_id": UUID(int=1_000_000 + next(_ids)),
        "donor_id": "jica",
        "category": "generator",
        "specs": {"power_kw": 100, "fuel": "diesel", "phases": "three"},
        "free": 1,
        "region": "UA-63",
        "available_from": TODAY,
    }
    return Supply(**{**fields, **overrides})


def match(demands: list[Demand], supplies: list[Supply]) -> Proposals:
    """Run the engine with the test distances."""
    return propose_allocations(demands, supplies, distance_km=distance_km)


def served(proposals: list[Proposal]) -> Counter[tuple[UUID, UUID]]:
    """Quantity proposed per (request, lot)."""
    return Counter({(p.request_id, p.lot_id): p.quantity for p in proposals})


# --- random instances ---------------------------------------------------------------------------

regions = st.sampled_from(sorted(POSITIONS))
random_supplies = st.lists(
    st.builds(
        supply,
        category=st.sampled_from(["generator", "pump"]),
        specs=st.fixed_dictionaries(
            {"power_kw": st.sampled_from([50, 100, 500]), "fuel": st.sampled_from(["diesel", "gas"])}
        ),
        free=st.integers(1, 6),
        region=regions,
        available_from=st.dates(TODAY, TODAY + timedelta(days=60)),
        eligible_regions=st.none() | st.frozensets(regions, min_size=1, max_size=2),
    ),
    max_size=8,
)
random_demands = st.lists(
    st.builds(
        demand,
        category=st.sampled_from(["generator", "pump"]),
        specs=st.fixed_dictionaries(
            {},
            optional={
                "power_kw": st.sampled_from([50, 100, 500]),
                "fuel": st.sampled_from(["diesel", ["diesel", "gas"]]),
            },
        ),
        unmet=st.integers(0, 8),
        priority=st.sampled_from(["critical", "high", "medium", "low"]),
        front_line=st.booleans(),
        region=regions,
        needed_by=st.dates(TODAY, TODAY + timedelta(days=60)),
    ),
    max_size=12,
)


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Demand], list[Supply]]:
    """Random demands and supplies, some demands having rejected some lots."""
    supplies, demands = draw(random_supplies), draw(random_demands)
    lot_ids = [s.lot_id for s in supplies]
    if lot_ids:
        rejections = st.frozensets(st.sampled_from(lot_ids), max_size=2)
        demands = [replace(d, excluded_lot_ids=draw(rejections)) for d in demands]
    return demands, supplies

"""The matching engine, pure: the `values` it trades, the `fit` of lots to requests, the `exchange` search.

`engine.propose_allocations` is the entry point; the names below are the package's public surface.
"""

from services.allocation.matching.engine import propose_allocations
from services.allocation.matching.fit import is_compatible
from services.allocation.matching.proposals import Proposals
from services.allocation.matching.values import (
    PRIORITY_RANK,
    PRIORITY_WEIGHT,
    Basis,
    Demand,
    Priority,
    Proposal,
    Reason,
    Supply,
    priority_weighted_units,
    service_order,
)

__all__ = [
    "PRIORITY_RANK",
    "PRIORITY_WEIGHT",
    "Basis",
    "Demand",
    "Priority",
    "Proposal",
    "Proposals",
    "Reason",
    "Supply",
    "is_compatible",
    "priority_weighted_units",
    "propose_allocations",
    "service_order",
]

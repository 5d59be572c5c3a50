"""Matching engine: proposes donors' free stock for unmet demand, each proposal with its reason.

Pure domain logic: plain frozen dataclasses in, proposals out; no I/O, no clock, no database.

Algorithm. Demands are served one at a time in the order of service (priority, front-line,
needed_by, submission), each category on its own market (`exchange`): nearest compatible free
stock first (`stock`), then exchanges along augmenting paths that move earlier demands to other
lots that also fit them (`fit`). Demand units form a transversal matroid, so this greedy with
exchanges is exact: no allocation serves more priority-weighted units, for any weights that
decrease with priority, and within a priority earlier-ranked demands come first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.allocation.matching.exchange import CategoryMarket
from services.allocation.matching.stock import Distances
from services.allocation.matching.values import Demand, Proposal, Supply, service_order


def propose_allocations(
    demands: Sequence[Demand],
    supplies: Sequence[Supply],
    *,
    distance_km: Callable[[str, str], float],
) -> list[Proposal]:
    """Propose free stock for unmet demand, maximising priority-weighted units served."""
    ranked = sorted((d for d in demands if d.unmet > 0), key=service_order)
    distances = Distances(distance_km)
    by_rank: list[list[Proposal]] = [[] for _ in ranked]
    for wanted, ranks, offered in _by_category(ranked, supplies).values():
        market = CategoryMarket(wanted, offered, distances)
        market.serve_all()
        for d, rank in enumerate(ranks):
            if market.holdings.by_demand[d]:
                by_rank[rank] = market.proposals(d, rank + 1)
    return [proposal for proposals in by_rank for proposal in proposals]


def _by_category(
    ranked: Sequence[Demand], supplies: Sequence[Supply]
) -> dict[str, tuple[list[Demand], list[int], list[Supply]]]:
    """Per category: its demands in order of service, their ranks (from 0), its lots with stock by id."""
    groups: dict[str, tuple[list[Demand], list[int], list[Supply]]] = {}
    for rank, demand in enumerate(ranked):
        group = groups.get(demand.category)
        if group is None:
            group = groups[demand.category] = ([], [], [])
        group[0].append(demand)
        group[1].append(rank)
    for supply in sorted(supplies, key=lambda s: s.lot_id.int):
        if supply.free > 0 and supply.category in groups:
            groups[supply.category][2].append(supply)
    return groups

"""Previous matching engine (baseline for bench only): served in order of service, with exchanges.

Pure domain logic: plain frozen dataclasses in, proposals out; no I/O, no clock, no database.

Algorithm. Demands are served one at a time in the order of service (priority, front-line,
needed_by, submission), each category on its own market (`exchange`): nearest compatible free
stock first, then exchanges along augmenting paths that move earlier demands to other lots that
also fit them (`fit`). Demand units form a transversal matroid, so this greedy with exchanges is
exact: no allocation serves more priority-weighted units, for any weights that decrease with
priority, and within a priority earlier-ranked demands come first. 100k demands x 20k lots match
in a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.previous_engine.exchange import CategoryMarket, Distances
from services.allocation.matching.values import Demand, Proposal, Supply, service_order


def propose_allocations(
    demands: Sequence[Demand],
    supplies: Sequence[Supply],
    *,
    distance_km: Callable[[str, str], float],
) -> list[Proposal]:
    """Propose free stock for unmet demand, maximising priority-weighted units served."""
    ranked = sorted((d for d in demands if d.unmet > 0), key=service_order)
    rank_of = {d.request_id: rank for rank, d in enumerate(ranked, start=1)}
    distances = Distances(distance_km)
    proposals: list[Proposal] = []
    for wanted, offered in _by_category(ranked, supplies).values():
        market = CategoryMarket(wanted, offered, distances)
        market.serve_all()
        proposals.extend(market.proposals(rank_of))
    proposals.sort(key=lambda p: (p.reason.rank, p.reason.distance_km, p.lot_id))
    return proposals


def _by_category(
    demands: Sequence[Demand], supplies: Sequence[Supply]
) -> dict[str, tuple[list[Demand], list[Supply]]]:
    groups: dict[str, tuple[list[Demand], list[Supply]]] = {}
    for demand in demands:
        groups.setdefault(demand.category, ([], []))[0].append(demand)
    for supply in sorted(supplies, key=lambda s: s.lot_id):
        if supply.free > 0 and supply.category in groups:
            groups[supply.category][1].append(supply)
    return groups

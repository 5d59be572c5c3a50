"""The engine's answer as columns: one entry per proposal, a `Proposal` built only when one is asked for.

At 100k requests the engine makes ~105k proposals, and building each as two frozen objects was a
fifth of its time while the service turns every one into an allocation row anyway. The columns
keep the answer's order (order of service, each request's nearest lot first), count units per lot
and per request without a Python loop, and shift ranks for a slice of a run in one addition.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, overload
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from services.allocation.matching.values import Basis, Priority, Proposal, proposal

BASES: tuple[Basis, ...] = ("nearest", "moved", "exchanged", "late_stock_only")
_BASIS_NAMES = np.array(BASES, dtype=object)


class Demands:
    """The fields of the engine's input demands a proposal repeats, by input position."""

    __slots__ = ("front_line", "priority", "request_id")

    def __init__(self, request_id: list[UUID], priority: list[Priority], front_line: list[bool]) -> None:
        self.request_id, self.priority, self.front_line = request_id, priority, front_line


class Proposals(Sequence[Proposal]):
    """Proposals as columns: `demand` (input position), `lot` (index into `lot_ids`), quantity, reason facts.

    `basis` holds codes into `BASES`; `rank` is the request's rank in the order of service, from 1.
    """

    __slots__ = (
        "available_by_needed_by",
        "basis",
        "compatible_lots",
        "demand",
        "demands",
        "distance_km",
        "lot",
        "lot_ids",
        "quantity",
        "rank",
    )

    def __init__(
        self,
        demands: Demands,
        lot_ids: list[UUID],
        *,
        demand: NDArray[np.intp],
        lot: NDArray[np.intp],
        quantity: NDArray[np.int64],
        rank: NDArray[np.int64],
        distance_km: NDArray[np.float64],
        available_by_needed_by: NDArray[np.bool_],
        compatible_lots: NDArray[np.int64],
        basis: NDArray[np.int8],
    ) -> None:
        self.demands, self.lot_ids = demands, lot_ids
        self.demand, self.lot, self.quantity, self.rank = demand, lot, quantity, rank
        self.distance_km, self.available_by_needed_by = distance_km, available_by_needed_by
        self.compatible_lots, self.basis = compatible_lots, basis

    @classmethod
    def none(cls) -> Proposals:
        """No proposals."""
        nothing = np.zeros(0, dtype=np.int64)
        return cls(
            Demands([], [], []),
            [],
            demand=nothing.astype(np.intp),
            lot=nothing.astype(np.intp),
            quantity=nothing,
            rank=nothing,
            distance_km=nothing.astype(np.float64),
            available_by_needed_by=nothing.astype(np.bool_),
            compatible_lots=nothing,
            basis=nothing.astype(np.int8),
        )

    @classmethod
    def joined(cls, parts: Sequence[Proposals]) -> Proposals:
        """The parts (proposals for the same demands, each with its own lots) in one, ordered by rank.

        A stable sort on rank interleaves the parts and keeps each request's proposals in their order.
        """
        if not parts:
            return cls.none()
        offsets = np.cumsum([0, *(len(part.lot_ids) for part in parts[:-1])])
        order = np.argsort(np.concatenate([part.rank for part in parts]), kind="stable")

        def column(name: str) -> NDArray[Any]:
            return np.concatenate([getattr(part, name) for part in parts])[order]

        return cls(
            parts[0].demands,
            [lot_id for part in parts for lot_id in part.lot_ids],
            demand=column("demand"),
            lot=np.concatenate([part.lot + at for part, at in zip(parts, offsets, strict=True)])[order],
            quantity=column("quantity"),
            rank=column("rank"),
            distance_km=column("distance_km"),
            available_by_needed_by=column("available_by_needed_by"),
            compatible_lots=column("compatible_lots"),
            basis=column("basis"),
        )

    def ranked_after(self, ranked_before: int) -> Proposals:
        """The same proposals with `ranked_before` more requests ahead of each (a later slice of a run)."""
        if not ranked_before:
            return self
        shifted = copy.copy(self)
        shifted.rank = self.rank + ranked_before
        return shifted

    def units_by_lot(self) -> Counter[UUID]:
        """Units proposed of each lot."""
        return self._units(self.lot, self.lot_ids)

    def units_by_request(self) -> Counter[UUID]:
        """Units proposed for each request."""
        return self._units(self.demand, self.demands.request_id)

    def _units(self, index: NDArray[np.intp], ids: list[UUID]) -> Counter[UUID]:
        used, at = np.unique(index, return_inverse=True)
        units = np.bincount(at.reshape(-1), weights=self.quantity, minlength=len(used)).astype(np.int64)
        return Counter(dict(zip(map(ids.__getitem__, used.tolist()), units.tolist(), strict=True)))

    def __len__(self) -> int:
        return len(self.quantity)

    @overload
    def __getitem__(self, index: int) -> Proposal: ...

    @overload
    def __getitem__(self, index: slice) -> list[Proposal]: ...

    def __getitem__(self, index: int | slice) -> Proposal | list[Proposal]:
        if isinstance(index, slice):
            return list(self)[index]
        i = range(len(self))[index]  # IndexError and negative indices as a list has them
        row = int(self.demand[i])
        return proposal(
            self.demands.request_id[row],
            self.lot_ids[int(self.lot[i])],
            int(self.quantity[i]),
            (
                int(self.rank[i]),
                self.demands.priority[row],
                self.demands.front_line[row],
                float(self.distance_km[i]),
                bool(self.available_by_needed_by[i]),
                int(self.compatible_lots[i]),
                BASES[self.basis[i]],
            ),
        )

    def __iter__(self) -> Iterator[Proposal]:
        demands, rows = self.demands, self.demand.tolist()
        for request_id, lot_id, quantity, reason in zip(
            map(demands.request_id.__getitem__, rows),
            map(self.lot_ids.__getitem__, self.lot.tolist()),
            self.quantity.tolist(),
            zip(
                self.rank.tolist(),
                map(demands.priority.__getitem__, rows),
                map(demands.front_line.__getitem__, rows),
                self.distance_km.tolist(),
                self.available_by_needed_by.tolist(),
                self.compatible_lots.tolist(),
                _BASIS_NAMES[self.basis].tolist(),
                strict=True,
            ),
            strict=True,
        ):
            yield proposal(request_id, lot_id, quantity, reason)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compared by value, like a list

    def __repr__(self) -> str:
        return f"Proposals({list(self)!r})"

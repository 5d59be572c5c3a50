"""Which lot can serve which request: the compatibility rule, and the same rule over classes as a matrix.

Demands whose compatible lots are the same form a class; lots with equal specs and earmark form a
lot type (a lot some request rejected stays a type of its own). The fit matrix says, per class and
lot type, whether `is_compatible` holds, computed one attribute at a time with numpy.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeGuard
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from services.allocation.matching.values import Demand, Supply
from shared.catalog import specs_satisfy

_ABSENT = object()


@dataclass(frozen=True)
class LotType:
    """Interchangeable lots: equal specs and earmark (and the one lot, if some request rejected it)."""

    specs: Mapping[str, object]
    eligible: frozenset[str] | None
    only_lot: UUID | None


@dataclass(frozen=True)
class _DemandType:
    specs: Mapping[str, object]
    region: str
    excluded: frozenset[UUID]


def is_compatible(demand: Demand, supply: Supply) -> bool:
    """Whether a lot may serve a demand at all (category, specs, earmark, not rejected)."""
    return (
        demand.category == supply.category
        and (supply.eligible_regions is None or demand.region in supply.eligible_regions)
        and supply.lot_id not in demand.excluded_lot_ids
        and specs_satisfy(demand.specs, supply.specs)
    )


def demand_classes(
    demands: Sequence[Demand], lot_types: Sequence[LotType]
) -> tuple[list[int], NDArray[np.bool_]]:
    """Class of each demand (equal classes fit exactly the same lot types) and the class x lot type fits."""
    index: dict[Hashable, int] = {}
    types: list[_DemandType] = []
    type_of = []
    for demand in demands:
        key = (_spec_key(demand.specs), demand.region, demand.excluded_lot_ids)
        if key not in index:
            index[key] = len(types)
            types.append(_DemandType(demand.specs, demand.region, demand.excluded_lot_ids))
        type_of.append(index[key])
    fits = _fit_matrix(types, lot_types)
    classes: dict[bytes, int] = {}
    class_of_type = [classes.setdefault(row.tobytes(), len(classes)) for row in fits]
    first_of_class = {c: t for t, c in reversed(list(enumerate(class_of_type)))}
    return [class_of_type[t] for t in type_of], fits[[first_of_class[c] for c in range(len(classes))]]


def lot_types_of(supplies: Sequence[Supply], demands: Sequence[Demand]) -> tuple[list[int], list[LotType]]:
    """Group interchangeable lots; a lot some request rejected stays a type of its own."""
    rejected = frozenset().union(*(d.excluded_lot_ids for d in demands))
    index: dict[tuple[object, ...], int] = {}
    types: list[LotType] = []
    type_of = []
    for supply in supplies:
        only_lot = supply.lot_id if supply.lot_id in rejected else None
        key = (_spec_key(supply.specs), supply.eligible_regions, only_lot)
        if key not in index:
            index[key] = len(types)
            types.append(LotType(supply.specs, supply.eligible_regions, only_lot))
        type_of.append(index[key])
    return type_of, types


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _acceptable(want: object) -> frozenset[str]:
    """Values an enumerated request attribute accepts, read as `specs_satisfy` reads them."""
    if isinstance(want, str):
        return frozenset([want])
    if isinstance(want, list | tuple):
        return frozenset(value for value in want if isinstance(value, str))
    raise TypeError(f"request spec value {want!r} is neither a number nor acceptable values")


def _spec_key(specs: Mapping[str, object]) -> Hashable:
    """Equal keys mean equal specs (a list of values keeps its order: at worst two keys for one)."""
    return tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in specs.items()))


def _fit_matrix(demand_types: Sequence[_DemandType], lot_types: Sequence[LotType]) -> NDArray[np.bool_]:
    """fits[t, u]: lots of type u may serve demands of type t (`is_compatible`, vectorised)."""
    fits = _eligibility(demand_types, lot_types)
    for name in sorted({name for t in demand_types for name in t.specs}):
        fits &= _attribute_fit(name, demand_types, lot_types)
    only = {u.only_lot: j for j, u in enumerate(lot_types) if u.only_lot is not None}
    for i, demand_type in enumerate(demand_types):
        for lot_id in demand_type.excluded & only.keys():
            fits[i, only[lot_id]] = False
    return fits


def _eligibility(demand_types: Sequence[_DemandType], lot_types: Sequence[LotType]) -> NDArray[np.bool_]:
    regions = sorted({t.region for t in demand_types})
    allowed = np.ones((len(lot_types), len(regions)), dtype=bool)
    for j, lot_type in enumerate(lot_types):
        if lot_type.eligible is not None:
            allowed[j] = [region in lot_type.eligible for region in regions]
    column = {region: i for i, region in enumerate(regions)}
    return np.ascontiguousarray(allowed[:, [column[t.region] for t in demand_types]].T)


def _attribute_fit(
    name: str, demand_types: Sequence[_DemandType], lot_types: Sequence[LotType]
) -> NDArray[np.bool_]:
    wants = [t.specs.get(name, _ABSENT) for t in demand_types]
    haves = [u.specs.get(name, _ABSENT) for u in lot_types]
    floor = np.array([float(w) if _is_number(w) else -np.inf for w in wants])
    level = np.array([float(h) if _is_number(h) else np.nan for h in haves])
    numeric = (level[None, :] >= floor[:, None]) | np.isneginf(floor)[:, None]
    values = {v: i for i, v in enumerate(dict.fromkeys(h for h in haves if isinstance(h, str)))}
    codes = [values[h] if isinstance(h, str) else len(values) for h in haves]
    accepts = np.ones((len(wants), len(values) + 1), dtype=bool)
    for i, want in enumerate(wants):
        if want is not _ABSENT and not _is_number(want):
            accepts[i] = False
            accepts[i, [values[v] for v in _acceptable(want) if v in values]] = True
    return numeric & accepts[:, codes]

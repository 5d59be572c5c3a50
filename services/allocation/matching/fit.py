"""Which lot can serve which request: the compatibility rule, and the same rule over classes as a matrix.

Demands whose compatible lots are the same form a class; lots with equal specs and earmark form a
lot type (a lot some request rejected stays a type of its own). The fit matrix says, per class and
lot type, whether `is_compatible` holds, computed one attribute at a time with numpy.
"""

from __future__ import annotations

import itertools
import marshal
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard, cast
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
class DemandType:
    """Demands with equal specs, region and rejected lots: they fit the same lot types."""

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
    demands: Sequence[Demand], lot_types: Sequence[LotType], keys: Sequence[Hashable] | None = None
) -> tuple[list[int], NDArray[np.bool_]]:
    """Class of each demand and the class x lot type fits.

    Demands of one class fit exactly the same lot types and are in the same region (distance to
    stock is a class's too); classes are numbered in order of their first demand.
    """
    index: dict[Hashable, int] = {}
    if keys is None:  # equal keys: equal specs, region and rejected lots
        keys = list(
            zip(
                spec_keys([d.specs for d in demands]),
                [d.region for d in demands],
                [d.excluded_lot_ids for d in demands],
                strict=True,
            )
        )
    type_of = [index.setdefault(key, len(index)) for key in keys]
    first: list[int] = np.unique(np.asarray(type_of, dtype=np.intp), return_index=True)[1].tolist()
    types = [DemandType(demands[i].specs, demands[i].region, demands[i].excluded_lot_ids) for i in first]
    class_of_type, fits = type_classes(types, lot_types)
    return [class_of_type[t] for t in type_of], fits


def type_classes(
    types: Sequence[DemandType], lot_types: Sequence[LotType]
) -> tuple[list[int], NDArray[np.bool_]]:
    """Class of each demand type (same fits, same region) and the class x lot type fits.

    Classes are numbered in order of their first type.
    """
    fits = _fit_matrix(types, lot_types)
    classes: dict[tuple[bytes, str], int] = {}
    class_of_type = [
        classes.setdefault((row.tobytes(), t.region), len(classes))
        for row, t in zip(fits, types, strict=True)
    ]
    first_of_class = {c: t for t, c in reversed(list(enumerate(class_of_type)))}
    return class_of_type, fits[[first_of_class[c] for c in range(len(classes))]]


def lot_types_of(
    supplies: Sequence[Supply], demands: Sequence[Demand], rejected: set[UUID] | None = None
) -> tuple[list[int], list[LotType]]:
    """Group interchangeable lots; a lot some request rejected stays a type of its own.

    `rejected`, when given, is every lot the demands rejected (saves reading them again).
    """
    if rejected is None:
        rejected = {lot_id for d in demands if d.excluded_lot_ids for lot_id in d.excluded_lot_ids}
    index: dict[tuple[object, ...], int] = {}
    types: list[LotType] = []
    type_of = []
    lot_keys = spec_keys([s.specs for s in supplies])
    for supply, spec_key in zip(supplies, lot_keys, strict=True):
        only_lot = supply.lot_id if rejected and supply.lot_id in rejected else None
        key = (spec_key, supply.eligible_regions, only_lot)
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


def spec_keys(specs: list[Mapping[str, object]]) -> list[Hashable]:
    """`_spec_key` of each; marshal's format 2 (no back-references) when it can, a third of `repr`'s cost."""
    try:
        return list(map(marshal.dumps, cast(list[Any], specs), itertools.repeat(2)))
    except ValueError:  # a value marshal cannot write: fall back to repr
        return list(map(_spec_key, specs))


def _spec_key(specs: Mapping[str, object]) -> Hashable:
    """Equal keys mean equal specs; equal specs written in another order may get two keys (harmless).

    `repr` of the catalog's plain values (numbers, strings, lists of strings) says which they are,
    and costs a third of sorting the items.
    """
    return repr(specs)


def _fit_matrix(demand_types: Sequence[DemandType], lot_types: Sequence[LotType]) -> NDArray[np.bool_]:
    """fits[t, u]: lots of type u may serve demands of type t (`is_compatible`, vectorised)."""
    fits = _eligibility(demand_types, lot_types)
    for name in sorted({name for t in demand_types for name in t.specs}):
        fits &= _attribute_fit(name, demand_types, lot_types)
    only = {u.only_lot: j for j, u in enumerate(lot_types) if u.only_lot is not None}
    for i, demand_type in enumerate(demand_types):
        for lot_id in demand_type.excluded & only.keys():
            fits[i, only[lot_id]] = False
    return fits


def _eligibility(demand_types: Sequence[DemandType], lot_types: Sequence[LotType]) -> NDArray[np.bool_]:
    regions = sorted({t.region for t in demand_types})
    allowed = np.ones((len(lot_types), len(regions)), dtype=bool)
    for j, lot_type in enumerate(lot_types):
        if lot_type.eligible is not None:
            allowed[j] = [region in lot_type.eligible for region in regions]
    column = {region: i for i, region in enumerate(regions)}
    return np.ascontiguousarray(allowed[:, [column[t.region] for t in demand_types]].T)


def _attribute_fit(
    name: str, demand_types: Sequence[DemandType], lot_types: Sequence[LotType]
) -> NDArray[np.bool_]:
    """fits for one attribute, computed once per distinct wanted value (few: sizes, fuel choices)."""
    distinct: dict[object, int] = {}
    row_of = [distinct.setdefault(_want_key(t.specs.get(name, _ABSENT)), len(distinct)) for t in demand_types]
    wants = [_ABSENT] * len(distinct)
    for t, row in zip(demand_types, row_of, strict=True):
        wants[row] = t.specs.get(name, _ABSENT)
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
    fit: NDArray[np.bool_] = (numeric & accepts[:, codes])[row_of]
    return fit


def _want_key(want: object) -> object:
    """Equal keys for equal wanted values (True and 1 apart); the marker for an absent attribute."""
    if want is _ABSENT:
        return _ABSENT
    try:
        return marshal.dumps(cast(Any, want), 2)
    except ValueError:
        return (type(want), repr(want))

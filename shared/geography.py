"""Ukraine's ISO 3166-2:UA regions, read lazily from ``shared/data/regions.json``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class Region:
    """One ISO 3166-2:UA subdivision with the coordinates of its centre."""

    code: str
    name_en: str
    name_uk: str
    front_line: bool
    lat: float
    lon: float


def get_region(code: str) -> Region | None:
    """Return the region with this ISO code (e.g. ``UA-63``), or None if there is none."""
    return _regions_by_code().get(code)


def all_regions() -> tuple[Region, ...]:
    """Return every region, ordered by code."""
    return tuple(_regions_by_code().values())


def distance_km(code_a: str, code_b: str) -> float:
    """Return the great-circle distance between two regions' centres; KeyError for an unknown code."""
    a, b = _require(code_a), _require(code_b)
    if a == b:
        return 0.0
    return _haversine_km(a.lat, a.lon, b.lat, b.lon)


def _require(code: str) -> Region:
    region = get_region(code)
    if region is None:
        raise KeyError(f"unknown region code {code!r}")
    return region


def _haversine_km(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    phi_a, phi_b = math.radians(lat_a), math.radians(lat_b)
    d_phi, d_lambda = phi_b - phi_a, math.radians(lon_b - lon_a)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@cache
def _regions_by_code() -> Mapping[str, Region]:
    text = (files("shared") / "data" / "regions.json").read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = json.loads(text)["regions"]
    regions = sorted((_region_from_row(row) for row in rows), key=lambda region: region.code)
    return MappingProxyType({region.code: region for region in regions})


def _region_from_row(row: dict[str, Any]) -> Region:
    centroid = row["centroid"]
    return Region(
        code=row["code"],
        name_en=row["name_en"],
        name_uk=row["name_uk"],
        front_line=bool(row["front_line"]),
        lat=float(centroid["lat"]),
        lon=float(centroid["lon"]),
    )

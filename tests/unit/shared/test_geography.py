"""Behaviour of the ISO 3166-2:UA region table."""

import dataclasses

import pytest

from shared.geography import Region, all_regions, distance_km, get_region

FRONT_LINE = {
    "UA-09",
    "UA-12",
    "UA-14",
    "UA-23",
    "UA-40",
    "UA-43",
    "UA-48",
    "UA-59",
    "UA-63",
    "UA-65",
    "UA-74",
}


def test_exactly_27_subdivisions_and_eleven_front_line() -> None:
    regions = all_regions()

    assert len(regions) == 27
    assert {region.code for region in regions if region.front_line} == FRONT_LINE


def test_24_oblasts_plus_kyiv_sevastopol_and_crimea() -> None:
    codes = {region.code for region in all_regions()}
    oblasts = {region.code for region in all_regions() if region.name_uk.endswith(" область")}

    assert {"UA-30", "UA-40", "UA-43"} <= codes
    assert len(oblasts) == 24
    assert not oblasts & {"UA-30", "UA-40", "UA-43"}


@pytest.mark.parametrize(
    ("code", "name_en", "name_uk"),
    [
        ("UA-63", "Kharkiv Oblast", "Харківська область"),
        ("UA-30", "Kyiv", "Київ"),
        ("UA-32", "Kyiv Oblast", "Київська область"),
        ("UA-51", "Odesa Oblast", "Одеська область"),
        ("UA-26", "Ivano-Frankivsk Oblast", "Івано-Франківська область"),
        ("UA-43", "Autonomous Republic of Crimea", "Автономна Республіка Крим"),
        ("UA-40", "Sevastopol", "Севастополь"),
    ],
)
def test_region_names_in_english_and_ukrainian(code: str, name_en: str, name_uk: str) -> None:
    region = get_region(code)

    assert region is not None
    assert (region.name_en, region.name_uk) == (name_en, name_uk)


def test_regions_are_ordered_by_code_and_unique() -> None:
    codes = [region.code for region in all_regions()]

    assert codes == sorted(set(codes))


def test_unknown_code_is_not_a_region() -> None:
    assert get_region("UA-99") is None
    assert get_region("ua-63") is None


def test_region_is_immutable() -> None:
    region = get_region("UA-63")
    assert isinstance(region, Region)

    with pytest.raises(dataclasses.FrozenInstanceError):
        region.front_line = False  # type: ignore[misc]


def test_every_centroid_lies_within_ukraine() -> None:
    for region in all_regions():
        assert 44.0 <= region.lat <= 52.5, region.code
        assert 22.0 <= region.lon <= 40.3, region.code


def test_kyiv_to_kharkiv_is_about_430_km() -> None:
    assert 400 <= distance_km("UA-30", "UA-63") <= 480


def test_distance_is_symmetric() -> None:
    assert distance_km("UA-46", "UA-65") == pytest.approx(distance_km("UA-65", "UA-46"))


def test_distance_within_a_region_is_zero() -> None:
    assert distance_km("UA-14", "UA-14") == 0.0


def test_kyiv_oblast_is_near_but_not_at_kyiv() -> None:
    assert 0 < distance_km("UA-30", "UA-32") < 50


def test_distance_to_unknown_region_is_an_error() -> None:
    with pytest.raises(KeyError, match="UA-99"):
        distance_km("UA-30", "UA-99")

"""The city index answers exactly what a scan of every city would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.discovery.places import (
    SNAP_KM,
    City,
    CityIndex,
    PlaceDirectory,
    _load,
    fold,
    haversine_km,
    snap_to_city,
)

latitudes = st.one_of(st.floats(-90, 90), st.sampled_from([-90.0, -89.99, 0.0, 89.99, 90.0]))
longitudes = st.one_of(st.floats(-180, 180), st.sampled_from([-180.0, -179.99, 0.0, 179.99, 180.0]))


def brute_force_snap(cities: list[City], latitude: float, longitude: float) -> City:
    """What `nearest` did before the index: every city, sorted by distance."""
    by_distance = sorted(
        (haversine_km(latitude, longitude, c.latitude, c.longitude), c.id) for c in cities
    )
    by_id = {c.id: c for c in cities}
    close_by = [by_id[city_id] for km, city_id in by_distance if km <= SNAP_KM]
    if close_by:
        return max(close_by, key=lambda c: (c.population, -c.id))
    return by_id[by_distance[0][1]]


def catalogue_cities() -> list[City]:
    return list(_load(PlaceDirectory().min_population).by_id.values())


@settings(max_examples=40, deadline=None)
@given(latitude=latitudes, longitude=longitudes)
def test_snapping_with_the_index_is_exactly_the_full_scan(
    latitude: float, longitude: float
) -> None:
    cities = catalogue_cities()
    index = _load(PlaceDirectory().min_population).index
    assert snap_to_city(index, latitude, longitude) == brute_force_snap(cities, latitude, longitude)


@st.composite
def small_catalogues(draw: st.DrawFn) -> list[City]:
    # Few cities, often on the same spot or within a few km: ties and the snap radius matter.
    spots = draw(st.lists(st.tuples(latitudes, longitudes), min_size=1, max_size=5))
    cities = []
    for number in range(draw(st.integers(1, 40))):
        base_lat, base_lng = draw(st.sampled_from(spots))
        nudge = draw(st.sampled_from([0.0, 0.01, 0.03, 0.05, 0.5]))
        cities.append(
            City(
                id=draw(st.integers(1, 10**6)) * 100 + number,
                name=f"c{number}",
                label=f"c{number}",
                country_code="XX",
                latitude=max(-90.0, min(90.0, base_lat + nudge)),
                longitude=max(-180.0, min(180.0, base_lng - nudge)),
                population=draw(st.sampled_from([15_000, 20_000, 1_000_000])),
            )
        )
    return cities


@settings(max_examples=200, deadline=None)
@given(cities=small_catalogues(), latitude=latitudes, longitude=longitudes)
def test_the_index_agrees_with_a_scan_on_any_catalogue(
    cities: list[City], latitude: float, longitude: float
) -> None:
    index = CityIndex(cities)
    assert snap_to_city(index, latitude, longitude) == brute_force_snap(cities, latitude, longitude)
    nearest = min(
        cities, key=lambda c: (haversine_km(latitude, longitude, c.latitude, c.longitude), c.id)
    )
    assert index.nearest(latitude, longitude) == nearest


@settings(max_examples=60, deadline=None)
@given(prefix=st.one_of(st.sampled_from(["s", "sa", "san", "l", "por", "ö"]), st.text(max_size=3)))
async def test_suggestions_are_the_biggest_matching_cities(prefix: str) -> None:
    directory = PlaceDirectory()
    folded = fold(prefix)
    every = sorted(
        (c for c in catalogue_cities() if fold(c.name).startswith(folded)),
        key=lambda c: (-c.population, c.label, c.id),
    )
    expected = every[:10] if folded else []
    assert await directory.suggest(prefix, limit=10) == expected
    assert await directory.suggest(prefix, limit=10) == expected  # and again, remembered

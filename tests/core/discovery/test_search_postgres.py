"""SearchService on PostgreSQL gives SQLite's answers: the same streams, order, distances and totals,
for places (KNN on the GiST index) and names (prefixes, then close spellings).

Both run on golive's own stores: SQLite in memory, and a fresh PostgreSQL database
(tests/postgres.py) emptied of streams before each example.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.discovery.search import HALF_EARTH_KM, SearchPage, SearchService
from core.store import Database
from tests import postgres

Place = tuple[float, float]
Row = tuple[Place | None, bool, str]  # place, on air, slug


def _degrees(bound: float) -> st.SearchStrategy[float]:
    # Coordinates within 1e-100 of 0 are 0 on PostgreSQL (its floats raise on underflow), see
    # test_coordinates_next_to_zero_are_answered below.
    return st.floats(-bound, bound).filter(lambda x: x == 0 or abs(x) > 1e-90)


# Few distinct places, so exact ties (the same city) and mirror images (equal distances from
# different places) come up often; plus the poles and the antimeridian.
places = st.one_of(
    st.sampled_from([(0.0, 1.0), (0.0, -1.0), (1.0, 0.0), (38.72, -9.14), (90.0, 0.0)]),
    st.sampled_from([(-90.0, 45.0), (0.0, 180.0), (0.0, -180.0), (10.0, 179.99)]),
    st.tuples(_degrees(90), _degrees(180)),
)
origins = st.one_of(st.sampled_from([(0.0, 0.0), (38.7, -9.1), (0.0, 180.0)]), places)


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """The URL of a migrated database for these tests (each example empties it of streams
    first); dropped at the end."""
    postgres.server_url()  # found (or started) before an event loop runs: its probe runs one
    url = asyncio.run(postgres.fresh_database())
    try:
        yield url
    finally:
        asyncio.run(postgres.drop_database(url))


_INSERT = (
    "INSERT INTO streams (id, owner_id, slug, owner_name, title, latitude, longitude,"
    " active, on_air, room_name, live_since, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, 'A title', ?, ?, ?, ?, ?, ?, 'now', 'now')"
)


def _values(rows: list[Row]) -> list[tuple[Any, ...]]:
    values = []
    for number, (place, live, slug) in enumerate(rows, start=1):
        latitude, longitude = place or (None, None)
        room = f"live-{slug}" if live else None
        since = "2026-01-01T00:00:00Z" if live else None
        flag = int(live)
        values.append(
            (number, number, slug, slug.title(), latitude, longitude, flag, flag, room, since)
        )
    return values


def _answer(found: SearchPage) -> tuple[int, list[tuple[int, float | None]]]:
    return found.total, [(hit.stream.id, hit.distance_km) for hit in found.hits]


async def _both(database: str, rows: list[Row], searches: list[dict[str, Any]]) -> None:
    """Run each search on SQLite and on PostgreSQL with the same streams; the answers agree."""
    answers = []
    for target in (":memory:", database):
        async with Database.open(target) as db:
            async with db.transaction() as tx:
                await tx.execute("DELETE FROM streams")
                for values in _values(rows):
                    await tx.execute(_INSERT, values)
            answers.append([await _search(SearchService(db), search) for search in searches])
    expected, got = answers
    for one, want, have in zip(searches, expected, got, strict=True):
        assert have == want, one


async def _search(search: SearchService, how: dict[str, Any]) -> Any:
    if "text" in how:
        return _answer(await search.by_name(**how))
    return _answer(await search.near(**how))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    placed=st.lists(st.tuples(places, st.booleans()), max_size=40),
    origin=origins,
    limit=st.integers(1, 12),
    page=st.integers(1, 4),
    include_offline=st.booleans(),
    radius=st.one_of(st.none(), st.floats(1, 20_000), st.sampled_from([111.19508, HALF_EARTH_KM])),
)
def test_places_agree_with_sqlite(
    postgres_database: str,
    placed: list[tuple[Place, bool]],
    origin: Place,
    limit: int,
    page: int,
    include_offline: bool,
    radius: float | None,
) -> None:
    rows: list[Row] = [(place, live, f"s{n}") for n, (place, live) in enumerate(placed)]
    rows.append((None, True, "unplaced"))
    latitude, longitude = origin
    near = {"latitude": latitude, "longitude": longitude, "include_offline": include_offline}
    searches = [
        {**near, "page": page, "limit": limit, "radius_km": radius},
        {**near, "page": 1, "limit": 50, "radius_km": radius},
    ]
    asyncio.run(_both(postgres_database, rows, searches))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(st.text("abcdAB", min_size=1, max_size=7), max_size=30, unique_by=str.lower),
    live=st.lists(st.booleans(), min_size=30, max_size=30),
    typed=st.text("abcdB ", max_size=6),
    limit=st.integers(1, 5),
    page=st.integers(1, 3),
    include_offline=st.booleans(),
)
def test_names_agree_with_sqlite(
    postgres_database: str,
    names: list[str],
    live: list[bool],
    typed: str,
    limit: int,
    page: int,
    include_offline: bool,
) -> None:
    rows: list[Row] = [(None, on_air, name) for name, on_air in zip(names, live, strict=False)]
    by_name = {"text": typed, "include_offline": include_offline}
    searches = [
        {**by_name, "page": page, "limit": limit},
        {**by_name, "page": 1, "limit": 50},
    ]
    asyncio.run(_both(postgres_database, rows, searches))


def test_many_streams_page_the_same_on_both(postgres_database: str) -> None:
    """Enough streams for the indexes to matter: pages deep into a crowd of equal places and
    names sharing a beginning, where the close-spelling walks reach their cap."""
    cities = [(38.72, -9.14), (41.15, -8.61), (40.42, -3.7), (48.86, 2.35), (0.0, 0.5)]
    rows: list[Row] = [
        (cities[n % len(cities)] if n % 7 else None, n % 3 != 0, f"mart{n:04d}a")
        for n in range(1200)
    ]
    searches: list[dict[str, Any]] = [
        {"latitude": 38.7, "longitude": -9.1, "page": page, "limit": 50, **extra}
        for page in (1, 5, 11)
        for extra in ({}, {"include_offline": True}, {"radius_km": 700.0})
    ]
    searches += [
        {"text": text, "page": page, "limit": 8, "include_offline": offline}
        for text in ("mart00", "mrat0", "martha", "", "Mart0123")
        for page in (1, 3)
        for offline in (False, True)
    ]
    asyncio.run(_both(postgres_database, rows, searches))


def test_coordinates_next_to_zero_are_answered(postgres_database: str) -> None:
    """Where SQLite's floats quietly underflow to 0, PostgreSQL's raise: such places and origins
    still get an answer (the same streams; distances differ below 1e-90 km)."""
    tiny = [5e-324, -2.7e-193, 1e-150, 0.0]
    rows: list[Row] = [
        ((lat, lng), True, f"s{n}")
        for n, (lat, lng) in enumerate(zip(tiny, tiny[::-1], strict=True))
    ]

    async def check() -> None:
        async with Database.open(postgres_database) as db:
            async with db.transaction() as tx:
                await tx.execute("DELETE FROM streams")
                for values in _values(rows):
                    await tx.execute(_INSERT, values)
            search = SearchService(db)
            for latitude in tiny:
                found = await search.near(latitude, -latitude, limit=50, radius_km=1.0)
                assert found.total == len(rows)
                assert sorted(hit.stream.id for hit in found.hits) == [1, 2, 3, 4]
                assert all(
                    hit.distance_km is not None and hit.distance_km < 1e-90 for hit in found.hits
                )

    asyncio.run(check())

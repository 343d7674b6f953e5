"""SearchService: nearest-first agrees with a brute-force haversine; names, paging and the indexes."""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.discovery.places import haversine_km
from core.discovery.search import SearchService, one_typo_away
from core.kernel.errors import InvalidInput
from core.store import Database

Place = tuple[float, float]

# Uniform points, plus the places where boxes need care: poles and the antimeridian.
latitudes = st.one_of(st.floats(-90, 90), st.sampled_from([-90.0, -89.99, 0.0, 89.99, 90.0]))
longitudes = st.one_of(st.floats(-180, 180), st.sampled_from([-180.0, -179.99, 0.0, 179.99, 180.0]))
points = st.tuples(latitudes, longitudes)
streams = st.lists(st.tuples(points, st.booleans()), max_size=40)


async def _insert(db: Database, rows: list[tuple[Place | None, bool]], names: list[str]) -> None:
    async with db.transaction() as tx:
        for number, ((place, live), name) in enumerate(zip(rows, names, strict=True), start=1):
            latitude, longitude = place or (None, None)
            await tx.execute(
                "INSERT INTO streams (id, owner_id, slug, owner_name, title, latitude, longitude,"
                " active, on_air, room_name, live_since, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'A title', ?, ?, ?, ?, ?, ?, 'now', 'now')",
                (
                    number,
                    number,
                    name,
                    name.title(),
                    latitude,
                    longitude,
                    int(live),
                    int(live),
                    f"live-{name}" if live else None,
                    "2026-01-01T00:00:00Z" if live else None,
                ),
            )


def _brute_force(
    rows: list[tuple[Place, bool]], origin: Place, include_offline: bool
) -> list[tuple[float, int]]:
    return sorted(
        (haversine_km(*origin, *place), number)
        for number, (place, live) in enumerate(rows, start=1)
        if live or include_offline
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=streams,
    origin=points,
    limit=st.integers(1, 12),
    page=st.integers(1, 4),
    include_offline=st.booleans(),
    radius=st.one_of(st.none(), st.floats(1, 20_000)),
)
def test_nearest_first_agrees_with_brute_force_haversine(
    rows: list[tuple[Place, bool]],
    origin: Place,
    limit: int,
    page: int,
    include_offline: bool,
    radius: float | None,
) -> None:
    expected = _brute_force(rows, origin, include_offline)
    if radius is not None:
        # A stream right on the edge may fall either side by a rounding error: not a real case.
        assume(all(not math.isclose(km, radius, rel_tol=1e-9) for km, _ in expected))
        expected = [(km, n) for km, n in expected if km <= radius]

    async def check() -> None:
        async with Database.open(":memory:") as db:
            await _insert(db, list(rows), [f"s{n}" for n in range(len(rows))])
            found = await SearchService(db).near(
                *origin, page=page, limit=limit, include_offline=include_offline, radius_km=radius
            )
        assert found.total == len(expected)
        window = expected[(page - 1) * limit : page * limit]
        got = [(hit.distance_km, hit.stream.id) for hit in found.hits]
        assert len(got) == len(window)
        for (got_km, got_id), (want_km, want_id) in zip(got, window, strict=True):
            assert got_km == pytest.approx(want_km, rel=1e-9, abs=1e-9)
            # Ties (same distance to a rounding error) may be ordered either way by id.
            if got_id != want_id:
                assert got_km == pytest.approx(haversine_km(*origin, *rows[got_id - 1][0]))
        assert [km for km, _ in got] == sorted(km for km, _ in got)

    asyncio.run(check())


async def test_indexes_follow_every_write() -> None:
    """Go live, move, go offline, delete: the place indexes and the counts keep up."""
    async with Database.open(":memory:") as db:
        await _insert(db, [((38.7, -9.1), False), (None, True)], ["lisbon", "unplaced"])
        search = SearchService(db)
        assert (await search.near(38.7, -9.1)).total == 0
        assert (await search.near(38.7, -9.1, include_offline=True)).total == 1
        async with db.transaction() as tx:
            await tx.execute(
                "UPDATE streams SET active = 1, room_name = 'r',"
                " live_since = '2026-01-01T00:00:00Z' WHERE id = 1"
            )
        # Its room is open but no video came yet: not found as live (media first).
        assert (await search.near(38.7, -9.1)).total == 0
        assert (await search.by_name("lis")).total == 0
        async with db.transaction() as tx:
            await tx.execute("UPDATE streams SET on_air = 1 WHERE id = 1")
        assert [h.stream.slug for h in (await search.near(0, 0)).hits] == ["lisbon"]
        assert [h.stream.slug for h in (await search.by_name("lis")).hits] == ["lisbon"]
        async with db.transaction() as tx:
            await tx.execute("UPDATE streams SET latitude = 35.7, longitude = 139.7 WHERE id = 1")
        [hit] = (await search.near(35.7, 139.7)).hits
        assert hit.distance_km == pytest.approx(0, abs=1e-6)
        assert (await search.by_name("")).total == 2
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM streams WHERE id = 1")
        assert (await search.near(0, 0, include_offline=True)).total == 0
        assert (await search.by_name("")).total == 1


async def test_names_rank_prefixes_then_one_typo_and_page_stably() -> None:
    names = ["martha", "marta", "mark", "marthe", "amartha", "mrtha", "zed"]
    async with Database.open(":memory:") as db:
        await _insert(db, [(None, True)] * len(names), names)
        search = SearchService(db)
        found = await search.by_name("Martha")
        # The prefix match first, then one typo away (by name): never "amartha", "mark" or "zed".
        assert [hit.stream.slug for hit in found.hits] == ["martha", "marta", "marthe"]
        pages = [await search.by_name("mar", page=p, limit=2) for p in (1, 2)]
        assert [[h.stream.slug for h in p.hits] for p in pages] == [
            ["mark", "marta"],
            ["martha", "marthe"],
        ]
        assert pages[0].total_pages == 2


def _osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance, the slow textbook way (the reference)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _reference_one_typo(typed: str, name: str) -> bool:
    n = len(typed)
    return min(_osa_distance(typed, name[:cut]) for cut in (n - 1, n, n + 1) if cut >= 0) <= 1


@pytest.mark.parametrize(
    ("typed", "name", "close"),
    [
        ("alice", "alice", True),
        ("alcie", "alice", True),  # two letters swapped
        ("alce", "alice", True),  # a letter left out
        ("alicee", "alice", True),  # one too many
        ("alixe", "alice", True),  # one wrong
        ("alice", "alicebeth", True),  # a prefix of a longer name
        ("alxxe", "alice", False),
        ("bob", "alice", False),
    ],
)
def test_one_typo_away_examples(typed: str, name: str, close: bool) -> None:
    assert one_typo_away(typed, name) is close


@settings(max_examples=500, deadline=None)
@given(typed=st.text("abc", min_size=1, max_size=7), name=st.text("abc", max_size=9))
def test_one_typo_away_agrees_with_edit_distance(typed: str, name: str) -> None:
    assert one_typo_away(typed, name) == _reference_one_typo(typed, name)


async def test_bad_arguments_are_domain_errors() -> None:
    async with Database.open(":memory:") as db:
        search = SearchService(db)
        for call in (
            search.near(91, 0),
            search.near(0, math.nan),
            search.near(0, 0, radius_km=0),
            search.by_name("a", limit=51),
            search.by_name("a", page=0),
        ):
            with pytest.raises(InvalidInput):
                await call


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(st.text("abcd", min_size=1, max_size=6), min_size=1, max_size=30, unique=True),
    typed=st.text("abcd", min_size=1, max_size=5),
    limit=st.integers(1, 5),
)
def test_name_pages_agree_with_brute_force_and_never_repeat(
    names: list[str], typed: str, limit: int
) -> None:
    """Prefix matches (by name, id) come first; pages partition the whole answer."""

    async def check() -> None:
        async with Database.open(":memory:") as db:
            await _insert(db, [(None, True)] * len(names), names)
            search = SearchService(db)
            everything = await search.by_name(typed, limit=50)
            pages = [
                await search.by_name(typed, page=page, limit=limit)
                for page in range(1, math.ceil(everything.total / limit) + 2)
            ]
        listed = [hit.stream.slug for hit in everything.hits]
        # _insert gives slug `name` and display name `name.title()`: the same letters.
        prefix = sorted(name for name in names if name.startswith(typed))
        assert listed[: len(prefix)] == prefix
        assert everything.total == len(listed)
        paged = [hit.stream.slug for page in pages for hit in page.hits]
        assert paged == listed
        half = typed[: len(typed) // 2]
        close = sorted(
            name
            for name in names
            if name not in prefix and name.startswith(half) and one_typo_away(typed, name)
        )
        # Close spellings fill in short answers only, for 4 letters or more.
        expected_close = close if len(prefix) < 8 and len(typed) >= 4 else []
        assert listed[len(prefix) :] == expected_close

    asyncio.run(check())

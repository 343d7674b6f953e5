"""Which rooms may get tokens, answered from memory: exact within a process, bounded-stale across."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from core.kernel.clock import ManualClock
from core.services import Services
from core.store import Database
from core.streams import StreamDraft, StreamService
from core.streams.live_rooms import LiveRoomCache


async def create_page(services: Services, owner_id: int, username: str) -> None:
    await services.streams.create(
        owner_id=owner_id, username=username, display_name=username, draft=StreamDraft("Live")
    )


@pytest_asyncio.fixture
async def other_process(services: Services, clock: ManualClock) -> AsyncIterator[StreamService]:
    """The same database through another connection, as a `golive web` replica would have."""
    async with Database.open(services.settings.database.target) as db:
        yield StreamService(db, services.livekit, clock)


async def test_a_room_that_just_ended_is_no_longer_live(services: Services) -> None:
    await create_page(services, 1, "alice")
    room = (await services.streams.go_live(1)).stream.room_name
    assert room is not None
    assert (await services.streams.find_live_by_room_cached(room)) is not None

    await services.streams.end(1)

    assert await services.streams.find_live_by_room_cached(room) is None


async def test_a_room_that_just_went_live_is_live_at_once(services: Services) -> None:
    await create_page(services, 1, "alice")
    await create_page(services, 2, "bob")
    first = (await services.streams.go_live(1)).stream.room_name
    assert first is not None
    assert await services.streams.find_live_by_room_cached(first) is not None  # snapshot taken

    second = (await services.streams.go_live(2)).stream
    assert second.room_name is not None

    found = await services.streams.find_live_by_room_cached(second.room_name)
    assert found is not None and found.owner_id == 2


async def test_a_go_live_in_another_process_is_seen_at_once(
    services: Services, other_process: StreamService
) -> None:
    await create_page(services, 1, "alice")
    await create_page(services, 2, "bob")
    await services.streams.go_live(1)
    assert await services.streams.find_live_by_room_cached("live-none-1") is None  # snapshot

    room = (await other_process.go_live(2)).stream.room_name
    assert room is not None

    found = await services.streams.find_live_by_room_cached(room)
    assert found is not None and found.owner_id == 2


async def test_a_reconciled_stream_is_no_longer_live(services: Services) -> None:
    """Start-up repair ends streams through the same path, so the cache forgets them too."""
    await create_page(services, 1, "alice")
    room = (await services.streams.go_live(1)).stream.room_name
    assert room is not None
    assert await services.streams.find_live_by_room_cached(room) is not None
    await services.livekit.delete_room(room)  # LiveKit closed it while we were away

    await services.streams.reconcile_with_livekit()

    assert await services.streams.find_live_by_room_cached(room) is None


# -- the cache on its own, with a clock we move ------------------------------------------------


@dataclass(frozen=True)
class Live:
    room_name: str | None
    owner_id: int


class Table:
    """Stands for the streams table as every process sees it, counting the reads."""

    def __init__(self) -> None:
        self.live: dict[str, Live] = {}
        self.loads = 0
        self.lookups = 0

    async def load_live(self) -> list[Live]:
        self.loads += 1
        return list(self.live.values())

    async def find_live(self, room: str) -> Live | None:
        self.lookups += 1
        return self.live.get(room)


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table() -> Table:
    table = Table()
    table.live["live-a-1"] = Live("live-a-1", 1)
    return table


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest.fixture
def cache(table: Table, monotonic: Monotonic) -> LiveRoomCache[Live]:
    return LiveRoomCache(table.load_live, table.find_live, ttl=1.0, monotonic=monotonic)


async def test_a_burst_for_a_live_room_reads_the_table_once(
    cache: LiveRoomCache[Live], table: Table
) -> None:
    for _ in range(1000):
        assert await cache.find("live-a-1") == Live("live-a-1", 1)

    assert (table.loads, table.lookups) == (1, 0)


async def test_an_end_elsewhere_is_seen_within_the_ttl(
    cache: LiveRoomCache[Live], table: Table, monotonic: Monotonic
) -> None:
    assert await cache.find("live-a-1") is not None
    del table.live["live-a-1"]  # another process ended it

    monotonic.now += 0.4
    assert await cache.find("live-a-1") is not None  # inside the documented staleness
    monotonic.now += 0.6
    assert await cache.find("live-a-1") is None
    assert table.loads == 2


async def test_one_request_refreshes_while_the_others_answer_at_once(
    table: Table, monotonic: Monotonic
) -> None:
    """Past half the TTL, the reload must not make the whole burst wait on the database."""
    reloading, release = asyncio.Event(), asyncio.Event()
    loads = 0

    async def load_live() -> list[Live]:
        nonlocal loads
        loads += 1
        if loads > 1:
            reloading.set()
            await release.wait()  # a slow database
        return await table.load_live()

    cache = LiveRoomCache(load_live, table.find_live, ttl=1.0, monotonic=monotonic)
    assert await cache.find("live-a-1") is not None
    monotonic.now += 0.6

    refreshing = asyncio.create_task(cache.find("live-a-1"))
    await reloading.wait()
    others = [await cache.find("live-a-1") for _ in range(100)]
    release.set()

    assert others == [Live("live-a-1", 1)] * 100
    assert await refreshing == Live("live-a-1", 1)
    assert loads == 2


async def test_invalidation_wins_over_a_load_that_read_before_it(
    table: Table, monotonic: Monotonic
) -> None:
    """A reload that read the table before an end was committed must not bring the room back."""

    async def load_then_the_stream_ends() -> list[Live]:
        before = await table.load_live()
        del table.live["live-a-1"]
        cache.invalidate()  # this process committed the end while the load was in flight
        return before

    cache = LiveRoomCache(load_then_the_stream_ends, table.find_live, monotonic=monotonic)

    assert await cache.find("live-a-1") is None


async def test_unknown_rooms_are_always_asked_of_the_table(
    cache: LiveRoomCache[Live], table: Table
) -> None:
    """Misses are not remembered: made-up names cannot grow the cache or hide a new go-live."""
    for n in range(100):
        assert await cache.find(f"live-b-{n}") is None
    table.live["live-b-7"] = Live("live-b-7", 2)

    assert await cache.find("live-b-7") == Live("live-b-7", 2)
    assert table.lookups == 101

"""Flood limits and slow mode hold across processes: two sets of services on one SQLite file
stand for two `golive web` replicas (each with its own connections and its own memory)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core.chat.service import ChatAuthor
from core.cluster import Limit, SharedLimits, forget_spent
from core.config import Settings
from core.kernel.clock import ManualClock
from core.kernel.errors import RateLimited
from core.services import Services
from core.streams import Stream
from golive.bootstrap import open_services
from tests.core.chat.test_service import BOB_AUTHOR, MOD, live_alice


@pytest_asyncio.fixture
async def replica(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    """A second process's services on the same database file, at the same time."""
    async with open_services(settings, clock) as opened:
        yield opened


async def refreshed(services: Services, stream: Stream) -> Stream:
    return await services.streams.get_by_id(stream.id)


async def test_a_persons_burst_is_shared_by_every_replica(
    services: Services, replica: Services, clock: ManualClock
) -> None:
    stream = await live_alice(services)
    seen_by_replica = await refreshed(replica, stream)
    for n in range(3):
        await services.chat.post(stream, BOB_AUTHOR, f"a{n}", ip="10.0.0.1")
    for n in range(2):  # the burst of 5 from config.toml, spread over both
        await replica.chat.post(seen_by_replica, BOB_AUTHOR, f"b{n}", ip="10.0.0.2")
    with pytest.raises(RateLimited, match="too fast"):
        await replica.chat.post(seen_by_replica, BOB_AUTHOR, "one more", ip="10.0.0.2")
    with pytest.raises(RateLimited, match="too fast"):
        await services.chat.post(stream, BOB_AUTHOR, "and here", ip="10.0.0.1")
    clock.advance(3)  # 20 a minute: one more every 3 s, for both together
    await replica.chat.post(seen_by_replica, BOB_AUTHOR, "later", ip="10.0.0.2")
    with pytest.raises(RateLimited):
        await services.chat.post(stream, BOB_AUTHOR, "not yet", ip="10.0.0.1")
    assert len(await services.chat.history(stream)) == 6


async def test_slow_mode_lets_one_message_through_across_replicas(
    services: Services, replica: Services, clock: ManualClock
) -> None:
    stream = await live_alice(services)
    await services.chat.set_slowmode(moderator_id=MOD, stream=stream, seconds=30)
    seen_by_replica = await refreshed(replica, stream)
    await services.chat.post(stream, BOB_AUTHOR, "first")
    with pytest.raises(RateLimited, match="Slow mode is on"):
        await replica.chat.post(seen_by_replica, BOB_AUTHOR, "second, elsewhere")
    clock.advance(30)
    await replica.chat.post(seen_by_replica, BOB_AUTHOR, "second, in time")


async def test_a_guests_slow_mode_holds_on_another_replica(
    services: Services, replica: Services
) -> None:
    """Guests' stored messages carry no id: before, only each process's memory spaced them."""
    stream = await live_alice(services)
    await services.chat.set_slowmode(moderator_id=MOD, stream=stream, seconds=60)
    seen_by_replica = await refreshed(replica, stream)
    for each in (services, replica):
        each.chat.rules = dataclasses.replace(each.chat.rules, allow_guests=True)
    guest = ChatAuthor(None, "Visitor")
    await services.chat.post(stream, guest, "hello", ip="10.0.0.9")
    with pytest.raises(RateLimited, match="Slow mode is on"):
        await replica.chat.post(seen_by_replica, guest, "hello again", ip="10.0.0.9")


async def test_a_refused_request_costs_nothing(services: Services, clock: ManualClock) -> None:
    """When a later limit refuses, the earlier ones are given back."""
    limits = SharedLimits(services.db, clock)
    roomy = Limit.per_minute("roomy", burst=2, per_minute=60)
    tight = Limit.once_every("tight", seconds=60)
    assert await limits.take([roomy, tight]) is None
    refusal = await limits.take([roomy, tight])
    assert refusal is not None and refusal.limit == tight and refusal.wait == 60
    # roomy was given back: its burst of 2 still has the second request in it.
    assert await limits.take([roomy]) is None
    assert await limits.take([roomy]) is not None


async def test_keys_back_to_their_full_burst_are_forgotten(
    services: Services, clock: ManualClock
) -> None:
    limits = SharedLimits(services.db, clock)
    await limits.take([Limit.per_minute("a", burst=5, per_minute=60)])
    await limits.take([Limit.once_every("b", seconds=600)])
    clock.advance(1)
    assert await forget_spent(services.db, clock) == 1  # "a" refilled, "b" still waits
    assert await limits.take([Limit.once_every("b", seconds=600)]) is not None


async def test_requests_that_arrive_together_are_counted_one_after_another(
    services: Services, clock: ManualClock
) -> None:
    """One batch, one key asked many times: its asks go in turn, so the burst holds exactly."""
    limits = SharedLimits(services.db, clock)
    burst = [Limit.per_minute("crowd", burst=3, per_minute=60), Limit.once_every("other", 1)]
    results = await asyncio.gather(
        *(limits.take([Limit.per_minute("crowd", burst=3, per_minute=60)]) for _ in range(5)),
        limits.take(burst),
    )
    allowed = [refusal is None for refusal in results]
    assert allowed == [True, True, True, False, False, False]

"""Scheduler leases: one holder at a time, renewed by it, taken over once it lets them run out."""

from __future__ import annotations

from datetime import timedelta

from core.cluster import LEASE_TURNS, Leases
from core.kernel.clock import ManualClock
from core.services import Services

EVERY = timedelta(seconds=10)


async def test_one_process_holds_a_lease_and_the_others_skip_their_turns(
    services: Services, clock: ManualClock
) -> None:
    first, second, third = (Leases(services.db, clock, f"proc-{n}") for n in range(3))
    assert await first.hold("reconcile", EVERY)
    assert not await second.hold("reconcile", EVERY)
    assert not await third.hold("reconcile", EVERY)
    # The holder renews at its turns; the others keep being refused while it does.
    for _ in range(5):
        clock.advance(EVERY.total_seconds())
        assert await first.hold("reconcile", EVERY)
        assert not await second.hold("reconcile", EVERY)
    assert await second.holder_of("reconcile") == "proc-0"


async def test_a_lease_its_holder_stopped_renewing_moves_after_it_runs_out(
    services: Services, clock: ManualClock
) -> None:
    dead, alive = Leases(services.db, clock, "dead"), Leases(services.db, clock, "alive")
    assert await dead.hold("catch-up", EVERY)
    clock.advance(EVERY.total_seconds() * LEASE_TURNS - 1)
    assert not await alive.hold("catch-up", EVERY)
    clock.advance(1)
    assert await alive.hold("catch-up", EVERY)
    assert await dead.holder_of("catch-up") == "alive"
    # The old holder, back from a stall, does not take it back.
    assert not await dead.hold("catch-up", EVERY)


async def test_a_clean_stop_gives_the_leases_back_at_once(
    services: Services, clock: ManualClock
) -> None:
    stopping, other = Leases(services.db, clock, "stopping"), Leases(services.db, clock, "other")
    assert await stopping.hold("reconcile", EVERY)
    assert await stopping.hold("renew-passes", EVERY)
    await stopping.release_all()
    assert await other.holder_of("reconcile") is None
    assert await other.hold("reconcile", EVERY)
    assert await other.hold("renew-passes", EVERY)


async def test_leases_of_different_jobs_are_independent(
    services: Services, clock: ManualClock
) -> None:
    """Discord jobs carry their shard scope: bot processes of other shards hold their own."""
    low, high = Leases(services.db, clock, "shards-0-1"), Leases(services.db, clock, "shards-2-3")
    assert await low.hold("catch-up shards 0,1/4", EVERY)
    assert await high.hold("catch-up shards 2,3/4", EVERY)
    assert not await high.hold("catch-up shards 0,1/4", EVERY)

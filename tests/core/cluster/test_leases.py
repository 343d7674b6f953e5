"""Scheduler leases: one holder at a time, renewed by it, taken over once it lets them run out."""

from __future__ import annotations

from datetime import timedelta

from core.cluster import HEARTBEAT, LEASE_TURNS, LONGEST_LEASE, Leases
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


async def test_a_long_job_lease_lasts_a_minute_renewed_by_the_heartbeat_and_moves_within_a_turn(
    services: Services, clock: ManualClock
) -> None:
    """A job run every 30 minutes: its holder renews the lease between turns (the scheduler's
    heartbeat); once the holder dies the lease runs out within LONGEST_LEASE, so the next turn
    of another process takes the job, not one three periods later."""
    every = timedelta(minutes=30)
    holder, other = Leases(services.db, clock, "holder"), Leases(services.db, clock, "other")
    assert await holder.hold("renew-passes", every)
    for _ in range(8):  # two minutes of heartbeats
        clock.advance(HEARTBEAT.total_seconds())
        assert await holder.renew({"renew-passes": every}) == set()
        assert not await other.hold("renew-passes", every)
    # The holder dies: no more heartbeats.
    clock.advance(LONGEST_LEASE.total_seconds() - 1)
    assert not await other.hold("renew-passes", every)
    clock.advance(1)
    assert await other.hold("renew-passes", every)
    # The old holder's next heartbeat finds it lost, and does not take it back.
    assert await holder.renew({"renew-passes": every}) == {"renew-passes"}
    assert await other.holder_of("renew-passes") == "other"

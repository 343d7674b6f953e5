"""The one scheduler: which jobs each process runs, and that a failing job keeps its turn."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import GoLiveBot
from core.cluster import Leases
from core.config import Settings
from core.kernel.clock import ManualClock
from core.services import Services
from golive import scheduler
from tests.conftest import ALICE
from tests.core.live.recorded import record_stream, record_to
from tests.core.money.test_ledger import fund
from tests.fakes.livekit import FakeLiveKit


@pytest.fixture
def settings(settings: Settings) -> Settings:
    fees = dataclasses.replace(settings.fees, mode="pass", pass_price=300)
    return dataclasses.replace(settings, fees=fees)


async def test_the_web_process_alone_renews_passes(services: Services, clock: ManualClock) -> None:
    """`golive web` runs core_jobs only (no bot): a pass that ran out still renews."""
    await fund(services, ALICE, 700)
    bought = await services.passes.buy(ALICE.user_id, "buy-1")
    clock.advance((bought.paid_until - clock.now()).total_seconds() + 60)

    await scheduler.run_once(scheduler.core_jobs(services))

    renewed = await services.passes.status(ALICE.user_id)
    assert renewed is not None and renewed.paid_until > bought.paid_until
    assert await services.ledger.balance(ALICE.user_id) == 100
    # Running the round again (a second process, a restart) charges nothing more.
    await scheduler.run_once(scheduler.core_jobs(services))
    assert await services.ledger.balance(ALICE.user_id) == 100


def test_each_process_runs_the_jobs_of_its_role(
    services: Services, make_bot: Callable[[], GoLiveBot]
) -> None:
    assert [job.name for job in scheduler.core_jobs(services)] == [
        "reconcile",
        "renew-passes",
        "forget-limits",
        "prune-outbox",
    ]
    bot = make_bot()
    assert [job.name for job in scheduler.discord_jobs(bot)] == [
        "viewer-counts",
        "catch-up",
        "remind-passes",
    ]


async def test_old_recordings_expire_in_the_web_process_once_the_retention_is_set(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    """`recording.retention_days` adds the expire-recordings job; moving the clock past the
    retention makes its round delete the recording and its file."""
    record_to(services, tmp_path)
    await fund(services, ALICE, 300)
    await services.passes.buy(ALICE.user_id, "buy-1")  # this module's streams need a pass
    vod = await record_stream(services, livekit, clock, [])
    assert "expire-recordings" not in [job.name for job in scheduler.core_jobs(services)]
    services.recording.config = dataclasses.replace(services.recording.config, retention_days=7)
    jobs = [job for job in scheduler.core_jobs(services) if job.name == "expire-recordings"]
    assert len(jobs) == 1
    path = services.recording.local_file(vod)
    assert path is not None and path.exists()

    clock.advance(6 * 86_400)
    await scheduler.run_once(jobs)
    assert [v.id for v in await services.recording.list_vods(vod.stream_id)] == [vod.id]

    clock.advance(2 * 86_400)
    await scheduler.run_once(jobs)
    assert await services.recording.list_vods(vod.stream_id) == []
    assert not path.exists()


async def test_a_failing_job_runs_again_at_its_next_turn() -> None:
    turns: list[int] = []
    third = asyncio.Event()

    async def flaky() -> None:
        turns.append(len(turns))
        if len(turns) == 3:
            third.set()
        if len(turns) == 1:
            raise RuntimeError("LiveKit had a bad minute")

    async with scheduler.running([scheduler.Job("flaky", timedelta(milliseconds=1), flaky)]):
        await asyncio.wait_for(third.wait(), timeout=5)
    assert turns[:3] == [0, 1, 2]


async def test_with_leases_a_job_runs_in_one_process_and_a_clean_stop_hands_it_over(
    services: Services, clock: ManualClock
) -> None:
    """Two schedulers (two processes' leases, one database) with the same job: only the holder
    runs it; when the holder's scheduler stops, it gives the lease back and the other one runs
    it from its next turn. (tests/golive/test_cluster_scheduler.py: real processes, kill -9.)"""
    ran: list[str] = []
    enough = asyncio.Event()
    every = timedelta(milliseconds=5)

    def job(name: str) -> scheduler.Job:
        async def run() -> None:
            ran.append(name)
            if ran.count(name) >= 3:
                enough.set()

        return scheduler.Job("reconcile", every, run)

    first, second = (Leases(services.db, clock, name) for name in ("first", "second"))
    assert await first.hold("reconcile", every)  # the first process was up before
    async with scheduler.running([job("second")], second):
        async with scheduler.running([job("first")], first):
            await asyncio.wait_for(enough.wait(), timeout=10)
        assert set(ran) == {"first"}  # the clock stands still: the lease never runs out
        enough.clear()
        await asyncio.wait_for(enough.wait(), timeout=10)
    handover = ran.index("second")
    assert set(ran[:handover]) == {"first"} and set(ran[handover:]) == {"second"}

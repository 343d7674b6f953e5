"""The scheduler's jobs run once across the cluster: three real `golive web` processes on one
database (a SQLite file; on the PostgreSQL pass, one PostgreSQL database), a one-second
reconcile; one process runs it, and when that one is killed (kill -9, no clean stop, so its lease
must run out) another takes it over, alone again."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

from golive.bootstrap import open_services
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment, settings_of

_RUN = re.compile(r"job reconcile runs$")
_HOLDER = re.compile(r"holds leases as (?P<holder>\S+)")
WAIT = 60  # seconds, at most, for what should take a few


def runs(process: GoliveProcess) -> int:
    return sum(1 for line in process.lines if _RUN.search(line))


async def holder_id(process: GoliveProcess) -> str:
    match = _HOLDER.search(await process.wait_for_line(_HOLDER.pattern))
    assert match is not None
    return match["holder"]


async def until(condition: Callable[[], bool]) -> None:
    """Until `condition` holds over the logs of several processes (no one event to wait on)."""
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110 - the logs of three processes
            await asyncio.sleep(0.2)


async def lease_holder(environment: dict[str, str]) -> str:
    async with open_services(settings_of(environment)) as services:
        row = await services.db.fetch_one(
            "SELECT holder FROM scheduler_leases WHERE job = 'reconcile'"
        )
    assert row is not None
    return str(row["holder"])


async def test_a_job_runs_in_one_of_three_processes_and_moves_when_its_holder_is_killed(
    tmp_path: Path, livekit: FakeLiveKit, database_environment: dict[str, str]
) -> None:
    environment = golive_environment(
        tmp_path,
        livekit,
        **database_environment,
        GOLIVE_RECONCILE_SECONDS="1",
        GOLIVE_LOG_LEVEL="DEBUG",
    )
    # All three start at once (on SQLite, on a new file: each applies what the others haven't).
    processes = [await GoliveProcess.start(["web"], environment, cwd=tmp_path) for _ in range(3)]
    try:
        ids = {}
        for process in processes:
            await process.listening()
            ids[await holder_id(process)] = process

        await until(lambda: sum(map(runs, processes)) >= 4)
        [holder] = [process for process in processes if runs(process) > 0]
        assert ids[await lease_holder(environment)] is holder

        await holder.kill()  # SIGKILL: its lease stays in the table until it runs out
        survivors = [process for process in processes if process is not holder]
        before = {id(process): runs(process) for process in survivors}
        await until(lambda: sum(runs(p) - before[id(p)] for p in survivors) >= 3)
        [successor] = [p for p in survivors if runs(p) > before[id(p)]]
        assert ids[await lease_holder(environment)] is successor
        assert "job reconcile runs in this process now" in successor.log
    finally:
        for process in processes:
            await process.kill()

"""Starting golive on a PostgreSQL that isn't there yet, or that never will accept it, as an
operator sees it: one line each time, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests import postgres
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment


async def test_a_postgresql_that_is_down_at_start_is_retried_with_backoff(
    tmp_path: Path, livekit: FakeLiveKit
) -> None:
    environment = golive_environment(
        tmp_path, livekit, GOLIVE_DATABASE_URL="postgresql://postgres@127.0.0.1:1/golive"
    )
    process = await GoliveProcess.start(["web"], environment, tmp_path)
    try:
        first = await process.wait_for_line("trying again in 1 s")
        await process.wait_for_line("trying again in 2 s")
    finally:
        await process.kill()  # (SIGTERM is only heard once golive is up: a known gap)
    assert "can't reach PostgreSQL" in first
    assert "Traceback" not in process.log, process.log


async def test_a_database_postgresql_refuses_is_one_line_and_an_exit(
    tmp_path: Path, livekit: FakeLiveKit
) -> None:
    missing = postgres.database_url("golive_no_such_database")
    environment = golive_environment(tmp_path, livekit, GOLIVE_DATABASE_URL=missing)
    process = await GoliveProcess.start(["web"], environment, tmp_path)
    assert await process.wait() != 0
    assert "PostgreSQL refused golive" in process.log
    assert "GOLIVE_DATABASE_URL" in process.log
    assert "Traceback" not in process.log, process.log

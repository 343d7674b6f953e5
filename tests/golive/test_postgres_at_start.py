"""Starting golive on a PostgreSQL that isn't there yet, or that never will accept it, as an
operator sees it: one line each time, never a traceback; a stop signal while it waits is a
normal stop."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests import postgres
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment

# Nothing listens on port 1: every connection is refused at once.
DOWN = "postgresql://postgres@127.0.0.1:1/golive"


async def test_a_postgresql_that_is_down_at_start_is_retried_with_backoff(
    tmp_path: Path, livekit: FakeLiveKit
) -> None:
    environment = golive_environment(tmp_path, livekit, GOLIVE_DATABASE_URL=DOWN)
    process = await GoliveProcess.start(["web"], environment, tmp_path)
    try:
        first = await process.wait_for_line("trying again in 1 s")
        await process.wait_for_line("trying again in 2 s")
    finally:
        await process.kill()
    assert "can't reach PostgreSQL" in first
    assert "Traceback" not in process.log, process.log


@pytest.mark.parametrize(
    ("role", "signal_number"),
    [
        ("web", signal.SIGTERM),
        ("web", signal.SIGINT),
        ("bot", signal.SIGTERM),  # the bot's role: Discord is never reached, the token unused
    ],
    ids=["web-SIGTERM", "web-SIGINT", "bot-SIGTERM"],
)
async def test_a_stop_signal_while_waiting_for_postgresql_is_a_normal_stop(
    tmp_path: Path, livekit: FakeLiveKit, role: str, signal_number: signal.Signals
) -> None:
    """docker stop / systemd / kubectl need no SIGKILL: the wait ends at once, code 0."""
    environment = golive_environment(
        tmp_path, livekit, GOLIVE_DATABASE_URL=DOWN, DISCORD_TOKEN="x.y.z"
    )
    process = await GoliveProcess.start([role], environment, tmp_path)
    try:
        await process.wait_for_line("trying again in 1 s")
        # Were the signal not heard, the retries would go on for ever and this would time out.
        code = await process.stop(signal_number)
    finally:
        await process.kill()
    assert code == 0, process.log
    assert f"{signal_number.name} received" in process.log
    assert "golive stopped while waiting for PostgreSQL (postgresql://" in process.log
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

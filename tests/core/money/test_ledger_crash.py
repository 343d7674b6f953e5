"""A process killed in the middle of a tip leaves the books whole: the tip happened or not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.kernel.clock import ManualClock
from core.money.ledger import Ledger
from core.store import Database
from core.streams import StreamDraft, StreamService

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("crash_tip.py")
STATEMENTS_IN_A_TIP = 15


async def prepare(path: Path) -> None:
    clock = ManualClock()
    async with Database.open(path) as db:
        streams = StreamService(db, livekit=None, clock=clock)  # type: ignore[arg-type]
        await streams.create(
            owner_id=1, username="alice", display_name="Alice", draft=StreamDraft(title="t")
        )
        await Ledger(db, clock).grant(2, 100, moderator_id=9, reason="funds", key="fund")


def kill_tip_at(path: Path, kill_at: int) -> int:
    env = {**os.environ, "KILL_AT": str(kill_at), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(SCRIPT), str(path)], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 9, done.stderr.decode()
    return done.returncode


async def test_a_tip_killed_at_any_point_is_all_or_nothing(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    await prepare(template)
    outcomes = []
    for kill_at in range(1, STATEMENTS_IN_A_TIP + 2):
        db_path = tmp_path / f"killed-at-{kill_at}.db"
        shutil.copy(template, db_path)
        kill_tip_at(db_path, kill_at)
        async with Database.open(db_path) as db:  # "after restart"
            ledger = Ledger(db, ManualClock())
            assert await ledger.check_books() == []
            tips = await db.fetch_all("SELECT amount FROM tips")
            happened = len(tips) == 1
            outcomes.append(happened)
            assert (await ledger.balance(2), await ledger.balance(1)) == (
                (70, 30) if happened else (100, 0)
            )
            # The member retries (same request): it lands exactly once either way.
            again = await ledger.send_stream_donation(2, "Bob", 1, 30, "killed?", "the-tip")
            assert again.ok and again.replayed == happened
            assert (await ledger.balance(2), await ledger.balance(1)) == (70, 30)
            assert len(await db.fetch_all("SELECT id FROM tips")) == 1
    # Killed before the commit: nothing; killed after it: the whole tip.
    assert outcomes == [False] * STATEMENTS_IN_A_TIP + [True]

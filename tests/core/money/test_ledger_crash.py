"""A process killed in the middle of a tip leaves the books whole: the tip happened or not.

And in the middle of a burst: every tip it acknowledged is in the books, a batch that had not
committed is absent as a whole, and the members' retries land each tip exactly once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.kernel.clock import ManualClock
from core.kernel.errors import Conflict
from core.money.ledger import Ledger
from core.store import Database
from core.streams import StreamDraft, StreamService
from tests.core.money.crash_tip import WAVES

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("crash_tip.py")
# A first tip: the keys, the stream and the wallets read, the streamer's wallet opened, then the
# transaction, its two entries (one statement) and the tip record.
STATEMENTS_IN_A_TIP = 7


async def prepare(path: Path) -> None:
    clock = ManualClock()
    async with Database.open(path) as db:
        streams = StreamService(db, livekit=None, clock=clock)  # type: ignore[arg-type]
        await streams.create(
            owner_id=1, username="alice", display_name="Alice", draft=StreamDraft(title="t")
        )
        await Ledger(db, clock).grant(2, 100, moderator_id=9, reason="funds", key="fund")
        await Ledger(db, clock).grant(3, 40, moderator_id=9, reason="funds", key="fund-3")


def run_tips(path: Path, kill_at: int) -> None:
    env = {**os.environ, "KILL_AT": str(kill_at), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(SCRIPT), str(path)], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 9, done.stderr.decode()


async def run_burst(path: Path, kill_at: int, running: asyncio.Semaphore) -> list[str]:
    """The child's stdout lines; it must have been killed (or, with kill_at 0, have ended)."""
    env = {**os.environ, "KILL_AT": str(kill_at), "PYTHONPATH": str(ROOT)}
    async with running, asyncio.timeout(60):
        child = await asyncio.create_subprocess_exec(
            *(sys.executable, str(SCRIPT), str(path), "burst"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await child.communicate()
    assert child.returncode == (9 if kill_at else 0), stderr.decode()
    return stdout.decode().splitlines()


async def test_a_tip_killed_at_any_point_is_all_or_nothing(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    await prepare(template)
    outcomes = []
    for kill_at in range(1, STATEMENTS_IN_A_TIP + 2):
        db_path = tmp_path / f"killed-at-{kill_at}.db"
        shutil.copy(template, db_path)
        run_tips(db_path, kill_at)
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


# What the waves come to, uninterrupted: tips are decided in order, each on its own.
EXPECTED = [
    ["landed", "landed", "refused", "replayed", "refused"],
    ["landed", "replayed", "conflict", "landed", "refused"],
]
LANDED = {"a": 30, "b": 30, "e": 30, "f": 30}  # key: amount


async def landed_keys(db: Database) -> dict[str, int]:
    rows = await db.fetch_all(
        "SELECT t.idempotency_key AS key, p.amount FROM tips p"
        " JOIN ledger_transactions t ON t.id = p.transaction_id"
    )
    return {row["key"]: row["amount"] for row in rows}


async def retry_everything(ledger: Ledger) -> list[str]:
    """Every member sends every tip again, all at once, in the order they first did."""

    async def send(key: str, donor: int, amount: int) -> str:
        try:
            result = await ledger.send_stream_donation(donor, f"m{donor}", 1, amount, "", key)
        except Conflict:
            return "conflict"
        return ("replayed" if result.replayed else "landed") if result.ok else "refused"

    return list(await asyncio.gather(*(send(*tip) for wave in WAVES for tip in wave)))


async def test_a_burst_killed_at_any_point_keeps_what_it_acknowledged_and_counts_nothing_twice(
    tmp_path: Path,
) -> None:
    template = tmp_path / "template.db"
    await prepare(template)
    shutil.copy(template, tmp_path / "whole.db")
    running = asyncio.Semaphore(3)  # children at a time: each is mostly Python starting up
    whole = await run_burst(tmp_path / "whole.db", 0, running)
    answers = [line.split()[-1] for line in whole if line.startswith("ack")]
    assert answers == EXPECTED[0] + EXPECTED[1]  # decided in arrival order, wave by wave
    first_wave, both = (int(line.split()[1]) for line in whole if line.startswith("statements"))

    kill_points = range(1, both + 2)
    for kill_at in kill_points:
        shutil.copy(template, tmp_path / f"killed-at-{kill_at}.db")
    outputs = await asyncio.gather(
        *(run_burst(tmp_path / f"killed-at-{n}.db", n, running) for n in kill_points)
    )
    for kill_at, lines in zip(kill_points, outputs, strict=True):
        db_path = tmp_path / f"killed-at-{kill_at}.db"
        acknowledged = [line.split()[1:] for line in lines if line.startswith("ack")]
        async with Database.open(db_path) as db:  # "after restart"
            ledger = Ledger(db, ManualClock())
            assert await ledger.check_books() == []
            kept = await landed_keys(db)
            # A batch is one transaction: killed inside the first, nothing is kept; inside the
            # second, exactly the first; after it, both.
            committed = 0 if kill_at <= first_wave else 1 if kill_at <= both else 2
            assert set(kept) == set("abef"[: 2 * committed]), kill_at
            for key, _, amount, answer in acknowledged:  # nothing acknowledged is lost
                if answer in ("landed", "replayed"):
                    assert kept[key] == int(amount), (kill_at, key)

            retried = await retry_everything(ledger)
            assert await landed_keys(db) == LANDED
            assert retried.count("landed") == len(LANDED) - len(kept)  # what was missing
            assert (await ledger.balance(2), await ledger.balance(3)) == (10, 10)
            assert await ledger.balance(4) == 0
            assert await ledger.balance(1) == sum(LANDED.values())
            assert await ledger.check_books() == []

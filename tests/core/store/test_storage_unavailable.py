"""A write that can't be done now is StorageUnavailable after a bounded wait, rolled back, and
never confused with a bug; reads go on meanwhile; the store notices by itself when writes work."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from core.kernel.errors import StorageUnavailable
from core.store import Database, GroupCommit, IntegrityError, SyncTransaction
from tests.core.store.lock_holder import write_lock_held
from tests.core.store.test_db import NOW, add_guild, guild_ids


async def test_a_lock_held_elsewhere_is_storage_unavailable_within_the_bound(
    tmp_path: Path,
) -> None:
    path = tmp_path / "golive.db"
    async with Database.open(path, busy_timeout=0.5) as db:
        async with db.transaction() as tx:
            await add_guild(tx, 1)
        async with write_lock_held(path) as lock:
            started = time.monotonic()
            with pytest.raises(StorageUnavailable) as refused:
                async with db.transaction() as tx:
                    await add_guild(tx, 2)
            assert time.monotonic() - started < 1.5
            assert refused.value.retry_after >= 1
            assert db.write_problem == "locked"
            assert await guild_ids(db) == [1]  # reads answer while the lock is held
            await lock.release()
        async with db.transaction() as tx:
            await add_guild(tx, 2)
        assert db.write_problem is None
        assert await guild_ids(db) == [1, 2]


async def test_a_batch_that_cannot_be_written_fails_at_once_not_item_by_item(
    tmp_path: Path,
) -> None:
    path = tmp_path / "golive.db"
    async with Database.open(path, busy_timeout=0.5) as db:

        async def write_batch(ids: list[int]) -> list[int]:
            def work(tx: SyncTransaction) -> list[int]:
                for guild_id in ids:
                    tx.execute(
                        "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, ?)",
                        (guild_id, NOW),
                    )
                return ids

            return await db.run_transaction(work)

        batches: GroupCommit[int, int] = GroupCommit(write_batch)
        async with write_lock_held(path):
            started = time.monotonic()
            outcomes = await asyncio.gather(
                *(batches.submit(n) for n in range(1, 6)), return_exceptions=True
            )
            # One wait (0.5 s) for the whole batch, not one more for each item after it failed.
            assert time.monotonic() - started < 1.5
        assert all(isinstance(outcome, StorageUnavailable) for outcome in outcomes)
        assert await guild_ids(db) == []


async def test_a_bug_stays_a_bug(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "golive.db") as db:

        async def add_twice() -> None:
            async with db.transaction() as tx:
                await add_guild(tx, 1)
                await add_guild(tx, 1)

        with pytest.raises(IntegrityError):
            await add_twice()
        assert db.write_problem is None
        assert await guild_ids(db) == []


async def test_only_a_real_write_shows_a_failing_disk_works_again(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "golive.db") as db:
        db.write_problem = "failing"  # as after a write refused by a full disk
        async with db.transaction() as tx:
            await tx.fetch_one("SELECT 1")
        assert db.write_problem == "failing"  # a commit that wrote nothing proves nothing
        assert await db.check_writable()
        assert db.write_problem is None


async def test_a_read_right_after_a_commit_sees_it_while_other_reads_are_in_flight(
    tmp_path: Path,
) -> None:
    """Reads share one read-only connection; none may keep an old snapshot for the next."""
    async with Database.open(tmp_path / "golive.db") as db:
        stop = asyncio.Event()

        async def keep_reading() -> None:
            while not stop.is_set():
                await db.fetch_all("SELECT guild_id FROM guild_settings")

        readers = [asyncio.create_task(keep_reading()) for _ in range(8)]
        try:
            for guild_id in range(1, 101):
                async with db.transaction() as tx:
                    await add_guild(tx, guild_id)
                row = await db.fetch_one(
                    "SELECT guild_id FROM guild_settings WHERE guild_id = ?", (guild_id,)
                )
                assert row is not None, f"guild {guild_id} was committed but not read back"
        finally:
            stop.set()
            await asyncio.gather(*readers)

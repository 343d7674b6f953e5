"""Group commit: batching while a write is in flight, one result per item, bad items isolated."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from core.store import Database, IntegrityError, SyncTransaction
from core.store.group_commit import GroupCommit

NOW = "2026-01-01T12:00:00+00:00"


class Store:
    """A batch writer that records each batch and, while `hold` is on, waits to be released."""

    def __init__(self, *, hold: bool = False, bad: frozenset[str] = frozenset()) -> None:
        self.hold = hold
        self.bad = bad
        self.batches: list[list[str]] = []
        self.stored: list[str] = []
        # Each held write announces itself here with the event that lets it finish.
        self.in_flight: asyncio.Queue[tuple[list[str], asyncio.Event]] = asyncio.Queue()

    async def write(self, items: list[str]) -> list[str]:
        self.batches.append(list(items))
        if self.hold:
            release = asyncio.Event()
            self.in_flight.put_nowait((list(items), release))
            await release.wait()
        if self.bad.intersection(items):
            raise ValueError(f"cannot store {sorted(self.bad.intersection(items))}")
        self.stored.extend(items)  # all or nothing, like a transaction
        return [f"#{item}" for item in items]


def submit(commits: GroupCommit[str, str], item: str) -> asyncio.Task[str]:
    return asyncio.create_task(commits.submit(item))


async def test_a_lone_item_is_written_at_once_and_gets_its_result() -> None:
    store = Store()
    commits = GroupCommit(store.write)

    assert await commits.submit("a") == "#a"
    assert await commits.submit("b") == "#b"
    assert store.batches == [["a"], ["b"]]


async def test_items_arriving_during_a_write_go_together_in_the_next_batch() -> None:
    store = Store(hold=True)
    commits = GroupCommit(store.write)
    first = submit(commits, "a")
    items, release = await store.in_flight.get()
    assert items == ["a"]

    # Queued while a is being written (tasks start in creation order, before a's write resumes).
    later = [submit(commits, item) for item in ("b", "c", "d")]
    release.set()
    items, release = await store.in_flight.get()
    assert items == ["b", "c", "d"]
    release.set()

    assert await first == "#a"
    assert await asyncio.gather(*later) == ["#b", "#c", "#d"]
    assert store.batches == [["a"], ["b", "c", "d"]]


async def test_one_bad_item_fails_alone_and_the_rest_of_its_batch_is_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store(hold=True, bad=frozenset({"bad"}))
    commits = GroupCommit(store.write, what="things")
    first = submit(commits, "a")
    _, release = await store.in_flight.get()
    later = [submit(commits, item) for item in ("b", "bad", "c")]
    release.set()
    store.hold = False

    with caplog.at_level(logging.WARNING, logger="core.store.group_commit"):
        results = await asyncio.gather(*later, return_exceptions=True)

    assert await first == "#a"
    assert results[0] == "#b" and results[2] == "#c"
    assert isinstance(results[1], ValueError)
    assert store.stored == ["a", "b", "c"]
    assert store.batches == [["a"], ["b", "bad", "c"], ["b"], ["bad"], ["c"]]
    assert "a batch of 3 things failed; writing them one by one" in caplog.text


async def test_a_lone_bad_item_raises_to_its_caller_and_is_not_retried() -> None:
    store = Store(bad=frozenset({"bad"}))
    commits = GroupCommit(store.write)

    with pytest.raises(ValueError, match="cannot store"):
        await commits.submit("bad")
    assert store.batches == [["bad"]]
    assert await commits.submit("next") == "#next"


async def test_a_cancelled_caller_does_not_cancel_its_batch() -> None:
    store = Store(hold=True)
    commits = GroupCommit(store.write)
    first = submit(commits, "a")
    _, release = await store.in_flight.get()
    b, c = submit(commits, "b"), submit(commits, "c")
    release.set()
    items, release = await store.in_flight.get()
    assert items == ["b", "c"]

    b.cancel()  # e.g. the HTTP client went away while its batch was being written
    with pytest.raises(asyncio.CancelledError):
        await b
    release.set()

    assert await c == "#c"
    assert await first == "#a"
    assert store.stored == ["a", "b", "c"]
    store.hold = False
    assert await commits.submit("d") == "#d"


async def test_a_write_returning_the_wrong_number_of_results_fails_without_writing_again() -> None:
    batches: list[list[str]] = []

    async def forgetful(items: list[str]) -> list[str]:
        batches.append(items)
        return []

    commits = GroupCommit(forgetful, what="things")
    with pytest.raises(RuntimeError, match="1 things written, 0 results"):
        await commits.submit("a")
    assert batches == [["a"]]


async def test_with_sqlite_a_batch_is_one_transaction_and_a_bad_row_rolls_back_alone(
    tmp_path: Path,
) -> None:
    """The real shape: a batch in one run_transaction; a duplicate key sinks only itself."""
    async with Database.open(tmp_path / "golive.db") as db:

        def insert(tx: SyncTransaction, guild_ids: list[int]) -> list[int]:
            for guild_id in guild_ids:
                tx.execute(
                    "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, ?)",
                    (guild_id, NOW),
                )
            return guild_ids

        async def write(guild_ids: list[int]) -> list[int]:
            return await db.run_transaction(lambda tx: insert(tx, guild_ids))

        commits = GroupCommit(write)
        results = await asyncio.gather(
            *(commits.submit(guild_id) for guild_id in (1, 2, 2, 3)), return_exceptions=True
        )

        assert results[:2] == [1, 2] and results[3] == 3
        assert isinstance(results[2], IntegrityError)
        rows = await db.fetch_all("SELECT guild_id FROM guild_settings ORDER BY guild_id")
        assert [row["guild_id"] for row in rows] == [1, 2, 3]


async def test_flush_waits_for_every_queued_item_even_those_nobody_waits_for() -> None:
    store = Store(hold=True)
    commits = GroupCommit(store.write)
    first = submit(commits, "a")
    _, release = await store.in_flight.get()
    abandoned = submit(commits, "b")
    await asyncio.sleep(0)  # b is queued behind a's write
    abandoned.cancel()  # its request was cut short: b must still be written
    flushing = asyncio.create_task(commits.flush())
    release.set()
    _, release = await store.in_flight.get()
    assert not flushing.done()
    release.set()
    await flushing
    assert store.stored == ["a", "b"]
    assert await first == "#a"

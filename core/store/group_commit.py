"""Group commit: what arrives while a write is in flight is written next, all in one transaction.

A small transaction costs mostly fixed overhead (the lock, BEGIN IMMEDIATE, COMMIT, the trips to
the database's thread), not rows. So while one batch is being written, new items queue up and
are then written together: under load, most of that overhead is shared; alone, an item is
written at once, as without batching.

The caller supplies the write: a function that stores a batch in one transaction and returns
one result per item, in order (e.g. ``lambda items: db.run_transaction(...)``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from core.kernel.errors import StorageUnavailable

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

WriteBatch = Callable[[list[ItemT]], Awaitable[list[ResultT]]]
# Told of every batch written: (what, how many items). Metrics install one; it must not raise.
BatchObserver = Callable[[str, int], None]
_batch_observers: list[BatchObserver] = []


def observe_batches(observer: BatchObserver) -> Callable[[], None]:
    """Call ``observer`` for every batch any GroupCommit writes; returns the undo."""
    _batch_observers.append(observer)
    return lambda: _batch_observers.remove(observer)


class GroupCommit(Generic[ItemT, ResultT]):
    """Queues items while a batch is being written and writes the queue as the next batch."""

    def __init__(self, write_batch: WriteBatch[ItemT, ResultT], *, what: str = "items") -> None:
        """``what`` names the items in log lines ("webhooks", "chat messages")."""
        self._write_batch = write_batch
        self._what = what
        self._queue: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: ItemT) -> ResultT:
        """Write ``item`` with whatever else is waiting; returns its result once committed.

        Raises what writing it raised. Cancelling the caller only stops it from waiting: the
        writes happen in a task of their own, so its item is still written, and so are the
        others in its batch.
        """
        done: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await done

    async def flush(self) -> None:
        """Wait until every item submitted so far is written (at shutdown, before the store
        closes: a caller that stopped waiting must still find its item committed)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write_all(self) -> None:
        batch: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._write(batch)
        except BaseException:
            # This task itself was cancelled (shutdown): nobody may wait forever for a write
            # that will not happen.
            for _, done in batch + self._queue:
                done.cancel()
            self._queue = []
            raise
        finally:
            self._writer = None

    async def _write(self, batch: list[tuple[ItemT, asyncio.Future[ResultT]]]) -> None:
        for observer in _batch_observers:
            observer(self._what, len(batch))
        try:
            results = await self._write_batch([item for item, _ in batch])
        except StorageUnavailable as error:
            # Nothing can be written now: one by one, each would wait for the lock in vain.
            _fail(batch, error)
            return
        except Exception as error:
            if len(batch) == 1:
                _fail(batch, error)
                return
            # One bad item must not sink the others: write them one by one.
            log.warning("a batch of %d %s failed; writing them one by one", len(batch), self._what)
            for single in batch:
                await self._write([single])
            return
        if len(results) != len(batch):
            # A bug in the caller's write. Already committed, so a retry would write them twice.
            _fail(batch, RuntimeError(f"{len(batch)} {self._what} written, {len(results)} results"))
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():  # else the caller stopped waiting
                done.set_result(result)


def _fail(batch: list[tuple[ItemT, asyncio.Future[ResultT]]], error: Exception) -> None:
    for _, done in batch:
        if not done.done():  # else the caller stopped waiting
            done.set_exception(error)

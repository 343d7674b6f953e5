"""A process that renews the streaming passes due and is killed right after the first renewal's
commit: before it publishes the renewal or delivers anything (tests/golive/test_outbox_processes.py).
Usage: crash_after_renewal.py DB NOW PRICE DAYS"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from core.config.sections import FeesSettings
from core.kernel.clock import ManualClock
from core.money import PassService
from core.money.ledger import Ledger
from core.store import Database, Transaction

KILLED = 9


def killed_after_the_first_commit(db: Database) -> None:
    """Like a power cut the moment the first transaction is committed (the hook lives only
    here, never in golive's code)."""
    committing = db.transaction

    @asynccontextmanager
    async def transaction() -> AsyncIterator[Transaction]:
        async with committing() as tx:
            yield tx
        os._exit(KILLED)

    db.transaction = transaction  # type: ignore[method-assign]


async def main(path: str, now: str, price: int, days: int) -> None:
    clock = ManualClock(datetime.fromisoformat(now))
    async with Database.open(path) as db:
        policy = FeesSettings(mode="pass", golive_fee=0, pass_price=price, pass_days=days)
        passes = PassService(db, Ledger(db, clock), clock, policy)
        killed_after_the_first_commit(db)
        await passes.renew_due()
    raise SystemExit("renew_due committed nothing")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))

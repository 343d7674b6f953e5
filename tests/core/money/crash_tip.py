"""Run by test_ledger_crash.py in a subprocess: one tip, killed at a chosen point.

KILL_AT=n ends the process with os._exit (no cleanup, no rollback, like a power cut or SIGKILL)
just before the n-th statement of the tip's transaction; a larger n kills it right after the
commit. The hook lives only here, never in golive's code.
"""

from __future__ import annotations

import asyncio
import os
import sys

import core.store.db
import core.store.postgres  # noqa: F401 - so its Transaction is patched too
from core.kernel.clock import SystemClock
from core.money.ledger import Ledger
from core.store import Database, Transaction

KILLED = 9


def arm(kill_at: int) -> None:
    seen = 0

    def wrap(method):
        async def hooked(self, *args, **kwargs):
            nonlocal seen
            seen += 1
            if seen == kill_at:
                os._exit(KILLED)
            return await method(self, *args, **kwargs)

        return hooked

    for kind in Transaction.__subclasses__():  # each store's own (SQLite, PostgreSQL)
        for name in ("execute", "insert", "fetch_one"):
            setattr(kind, name, wrap(getattr(kind, name)))


async def main(db_path: str, kill_at: int) -> None:
    async with Database.open(db_path) as db:
        arm(kill_at)
        result = await Ledger(db, SystemClock()).send_stream_donation(
            2, "Bob", 1, 30, "killed?", "the-tip"
        )
        assert result.ok, result.reason
        os._exit(KILLED)  # after the commit, before anything is closed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(os.environ["KILL_AT"])))

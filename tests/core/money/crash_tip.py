"""Run by test_ledger_crash.py in a subprocess: tips, killed at a chosen point.

KILL_AT=n ends the process with os._exit (no cleanup, no rollback, like a power cut or SIGKILL)
just before the n-th statement of the tips' transactions; a larger n kills it right after the
last commit (KILL_AT=0: never, and each wave's statements are counted on stdout). The hook
lives only here, never in golive's code.

`crash_tip.py PATH`: one tip. `crash_tip.py PATH burst`: the WAVES below, each sent at once
(one group commit each), every answer written to stdout the moment it is acknowledged.
"""

from __future__ import annotations

import asyncio
import os
import sys

import core.store.db
import core.store.postgres  # noqa: F401 - so its Transaction is patched too
from core.kernel.clock import SystemClock
from core.kernel.errors import Conflict
from core.money.ledger import Ledger
from core.store import Database, SyncTransaction, Transaction

KILLED = 9

# (key, donor, amount) to stream 1 (Alice, member 1). Funds: member 2 has 100, member 3 has
# 40, member 4 has no wallet. A key again with the same amount is a retry; with another, a misuse.
WAVES = [
    [("a", 2, 30), ("b", 3, 30), ("c", 3, 30), ("a", 2, 30), ("d", 4, 10)],
    [("e", 2, 30), ("b", 3, 30), ("a", 2, 50), ("f", 2, 30), ("g", 2, 30)],
]

seen = 0


def arm(kill_at: int) -> None:
    def count() -> None:
        global seen
        seen += 1
        if seen == kill_at:
            os._exit(KILLED)

    def wrap_async(method):
        async def hooked(self, *args, **kwargs):
            count()
            return await method(self, *args, **kwargs)

        return hooked

    def wrap_sync(method):  # runs on the database's thread: os._exit ends the whole process
        def hooked(self, *args, **kwargs):
            count()
            return method(self, *args, **kwargs)

        return hooked

    for kind in Transaction.__subclasses__():  # each store's own (SQLite, PostgreSQL)
        for name in ("execute", "insert", "fetch_one"):
            setattr(kind, name, wrap_async(getattr(kind, name)))
    for kind in SyncTransaction.__subclasses__():
        for name in ("execute", "fetch_one", "fetch_all"):
            setattr(kind, name, wrap_sync(getattr(kind, name)))


async def one_tip(ledger: Ledger) -> None:
    result = await ledger.send_stream_donation(2, "Bob", 1, 30, "killed?", "the-tip")
    assert result.ok, result.reason


async def burst(ledger: Ledger) -> None:
    async def send(key: str, donor: int, amount: int) -> None:
        try:
            result = await ledger.send_stream_donation(donor, f"m{donor}", 1, amount, "", key)
        except Conflict:
            answer = "conflict"
        else:
            answer = ("replayed" if result.replayed else "landed") if result.ok else "refused"
        print(f"ack {key} {donor} {amount} {answer}", flush=True)

    for wave in WAVES:
        await asyncio.gather(*(send(*tip) for tip in wave))
        print(f"statements {seen}", flush=True)


async def main(db_path: str, kill_at: int, mode: str) -> None:
    async with Database.open(db_path) as db:
        arm(kill_at)
        ledger = Ledger(db, SystemClock())
        await (burst(ledger) if mode == "burst" else one_tip(ledger))
        if kill_at:
            os._exit(KILLED)  # after the commit, before anything is closed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(os.environ["KILL_AT"]), (sys.argv[2:] or ["one"])[0]))

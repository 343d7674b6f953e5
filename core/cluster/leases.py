"""Leases: which process of the cluster runs a periodic job (table scheduler_leases, 0015).

A lease is one row: the job, the process holding it, and when it runs out. Taking and renewing
are the same conditional upsert: it lands if nobody holds the lease, if this process already
does, or if the holder let it run out; otherwise it changes nothing and the caller skips its turn.
Both SQLite (one writer at a time) and PostgreSQL (the row lock of ON CONFLICT DO UPDATE) make that
statement atomic, so two processes never both hold a lease.

A holder renews at each of its turns, and its lease lasts several turns (`LEASE_TURNS`), so a busy
event loop or a slow run does not hand the job over; a holder that dies (kill -9, a lost machine)
stops renewing, and the first process whose turn comes after the expiry takes the job. A lease
lasts at most `LONGEST_LEASE`: the holder of a job with long turns (30 min) renews it in between
(`renew`, the scheduler's heartbeat), so when it dies the job moves within one turn of its own,
not three. A holder that stops cleanly gives its leases back, so the others take over at their
next turn.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC, datetime, timedelta

from core.kernel.clock import Clock
from core.store import Database

# How many of its own turns a lease outlives: a holder may miss this many less one.
LEASE_TURNS = 3
# No lease lasts longer; holders renew theirs at least every HEARTBEAT.
LONGEST_LEASE = timedelta(minutes=1)
HEARTBEAT = LONGEST_LEASE / 4


def lease_length(every: timedelta) -> timedelta:
    """How long a lease of a job run `every` lasts from its last renewal."""
    return min(every * LEASE_TURNS, LONGEST_LEASE)


def process_holder_id() -> str:
    """This process, as lease rows name it: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def lease_time(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds: leases of one-second jobs need finer than to_db's seconds.
    Every lease time is written this way, so the text comparisons in SQL stay in order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


class Leases:
    """The leases of one process (`holder`)."""

    def __init__(self, db: Database, clock: Clock, holder: str | None = None) -> None:
        self._db = db
        self._clock = clock
        self.holder = holder or process_holder_id()

    async def hold(self, job: str, every: timedelta) -> bool:
        """Take or renew the lease of `job` (which runs every `every`); True if this process
        holds it now and may run the job."""
        now = self._clock.now()
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "INSERT INTO scheduler_leases (job, holder, taken_at, expires_at)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT (job) DO UPDATE SET"
                "   holder = excluded.holder,"
                "   taken_at = CASE WHEN scheduler_leases.holder = excluded.holder"
                "     THEN scheduler_leases.taken_at ELSE excluded.taken_at END,"
                "   expires_at = excluded.expires_at"
                " WHERE scheduler_leases.holder = excluded.holder"
                "   OR scheduler_leases.expires_at <= excluded.taken_at",
                (job, self.holder, lease_time(now), lease_time(now + lease_length(every))),
            )
        return changed == 1

    async def renew(self, held: dict[str, timedelta]) -> set[str]:
        """Extend the leases of `held` (job: its period) this process still holds; the jobs
        whose lease it holds no longer (it ran out and another process took it) are returned."""
        now = self._clock.now()
        lost: set[str] = set()
        async with self._db.transaction() as tx:
            for job, every in held.items():
                changed = await tx.execute(
                    "UPDATE scheduler_leases SET expires_at = ?"
                    " WHERE job = ? AND holder = ? AND expires_at > ?",
                    (lease_time(now + lease_length(every)), job, self.holder, lease_time(now)),
                )
                if not changed:
                    lost.add(job)
        return lost

    async def release_all(self) -> None:
        """Give back every lease this process holds (a clean stop): the others take over at
        their next turn instead of waiting for the expiry."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE scheduler_leases SET expires_at = ? WHERE holder = ?",
                (lease_time(self._clock.now()), self.holder),
            )

    async def holder_of(self, job: str) -> str | None:
        """Who holds `job`'s lease now (None: nobody, or it ran out)."""
        row = await self._db.fetch_one(
            "SELECT holder FROM scheduler_leases WHERE job = ? AND expires_at > ?",
            (job, lease_time(self._clock.now())),
        )
        return None if row is None else str(row["holder"])

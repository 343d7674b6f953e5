"""Shared limits: flood limits and slow mode that hold across every process (table rate_limits, 0015).

Each limit is a generic cell rate algorithm (GCRA), which is a token bucket kept as one number per
key: the key's theoretical arrival time `tat`. With `interval` = 1 / rate and `tolerance` =
(burst - 1) * interval, a request is allowed when `tat <= now + tolerance`, and then
`tat = max(tat, now) + interval`. That check-and-advance is one conditional upsert, atomic on
SQLite and on PostgreSQL, so replicas share one allowance per key. Slow mode is the same with a
burst of 1 and the slow mode as the interval.

The hot path stays cheap: the checks of requests that arrive together are written in one
transaction (core/store/group_commit.py), and a request's checks are tried in order; when one
refuses, the ones before it are given back (their tat moved back by one interval), so a refused
request costs the author nothing, as a refused token-bucket take does.

Exact, not eventually consistent: every allowed request has advanced the shared row before it
is answered. What it costs is one write per batch of requests; callers keep a per-process
bucket in front (as strict, never stricter) so an obvious flood is refused without a write.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.kernel.clock import Clock
from core.store import Database, GroupCommit, SyncTransaction

MICROS = 1_000_000


@dataclass(frozen=True)
class Limit:
    """`burst` requests at once for `key`, then one per `interval_us` microseconds."""

    key: str
    burst: int
    interval_us: int

    @classmethod
    def per_minute(cls, key: str, burst: int, per_minute: int) -> Limit:
        return cls(key, burst, max(1, 60 * MICROS // per_minute))

    @classmethod
    def once_every(cls, key: str, seconds: int) -> Limit:
        """One request per `seconds` (slow mode)."""
        return cls(key, 1, seconds * MICROS)

    @property
    def tolerance_us(self) -> int:
        return (self.burst - 1) * self.interval_us


@dataclass(frozen=True)
class Refusal:
    """Which limit refused, and the seconds until it allows one more."""

    limit: Limit
    wait: float


# One request's checks, at its time (microseconds since the epoch).
_Ask = tuple[tuple[Limit, ...], int]


class SharedLimits:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._clock = clock
        self._db = db
        self._checks: GroupCommit[_Ask, Refusal | None] = GroupCommit(
            self._check_batch, what="rate limits"
        )

    async def take(self, limits: Sequence[Limit]) -> Refusal | None:
        """Spend one request of each limit, in order; None if all allow it, else the first that
        refuses (the ones before it are given back)."""
        if not limits:
            return None
        now_us = math.floor(self._clock.now().timestamp() * MICROS)
        return await self._checks.submit((tuple(limits), now_us))

    async def _check_batch(self, asks: list[_Ask]) -> list[Refusal | None]:
        return await self._db.run_transaction(lambda tx: [_take(tx, *ask) for ask in asks])


def _take(tx: SyncTransaction, limits: tuple[Limit, ...], now_us: int) -> Refusal | None:
    taken: list[Limit] = []
    for limit in limits:
        if _advance(tx, limit, now_us):
            taken.append(limit)
            continue
        for earlier in taken:
            tx.execute(
                "UPDATE rate_limits SET tat_us = tat_us - ? WHERE key = ?",
                (earlier.interval_us, earlier.key),
            )
        row = tx.fetch_one("SELECT tat_us FROM rate_limits WHERE key = ?", (limit.key,))
        tat_us = int(row[0]) if row is not None else now_us
        return Refusal(limit, max(0, tat_us - limit.tolerance_us - now_us) / MICROS)
    return None


def _advance(tx: SyncTransaction, limit: Limit, now_us: int) -> bool:
    """The GCRA step: allowed (and the key's tat advanced) or refused (nothing changed)."""
    changed = tx.execute(
        "INSERT INTO rate_limits (key, tat_us) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET tat_us ="
        "   CASE WHEN rate_limits.tat_us > ? THEN rate_limits.tat_us ELSE ? END + ?"
        " WHERE rate_limits.tat_us <= ?",
        (
            limit.key,
            now_us + limit.interval_us,
            now_us,
            now_us,
            limit.interval_us,
            now_us + limit.tolerance_us,
        ),
    )
    return changed == 1


async def forget_spent(db: Database, clock: Clock) -> int:
    """Delete the rows of keys back to their full burst (their tat has passed): they say nothing
    a missing row doesn't. Returns how many went (the scheduler's forget-limits job)."""
    now_us = math.floor(clock.now().timestamp() * MICROS)
    async with db.transaction() as tx:
        return await tx.execute("DELETE FROM rate_limits WHERE tat_us <= ?", (now_us,))

"""Shared limits: flood limits and slow mode that hold across every process (table rate_limits, 0015).

Each limit is a generic cell rate algorithm (GCRA), which is a token bucket kept as one number per
key: the key's theoretical arrival time `tat`. With `interval` = 1 / rate and `tolerance` =
(burst - 1) * interval, a request is allowed when `tat <= now + tolerance`, and then
`tat = max(tat, now) + interval`. That check-and-advance is one conditional upsert, atomic on
SQLite and on PostgreSQL, so replicas share one allowance per key. Slow mode is the same with a
burst of 1 and the slow mode as the interval.

The hot path stays cheap: the checks of requests that arrive together are written in one
transaction (core/store/group_commit.py), and in few statements: one multi-row upsert checks the
first limit of every request, the next one their second limits, and so on (a key asked twice in
a batch goes in a later statement, after its first ask). A request's checks are tried in order;
when one refuses, the ones before it are given back (their tat moved back by one interval), so a
refused request costs the author nothing, as a refused token-bucket take does.

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
        return await self._db.run_transaction(lambda tx: _take_all(tx, asks))


_ROWS_PER_STATEMENT = 500  # 4 parameters a row, far under SQLite's variable limit


def _take_all(tx: SyncTransaction, asks: list[_Ask]) -> list[Refusal | None]:
    """Every request's limits, in rounds: each round advances the next limit of every request
    still going, with no key twice in a round (a repeated key waits for the next round)."""
    results: list[Refusal | None] = [None] * len(asks)
    taken: list[list[Limit]] = [[] for _ in asks]
    going = list(range(len(asks)))
    while going:
        keys: set[str] = set()
        now_asked: list[int] = []
        later: list[int] = []
        for index in going:
            key = asks[index][0][len(taken[index])].key
            (later if key in keys else now_asked).append(index)
            keys.add(key)
        allowed = _advance_all(
            tx, [(asks[index][0][len(taken[index])], asks[index][1]) for index in now_asked]
        )
        for index in now_asked:
            limits, now_us = asks[index]
            limit = limits[len(taken[index])]
            if limit.key not in allowed:
                results[index] = _refuse(tx, limit, taken[index], now_us)
                continue
            taken[index].append(limit)
            if len(taken[index]) < len(limits):
                later.append(index)
        going = sorted(later)  # arrival order
    return results


def _advance_all(tx: SyncTransaction, asks: list[tuple[Limit, int]]) -> set[str]:
    """The GCRA step for distinct keys at once; returns the keys that allowed their request
    (their tat advanced); the others changed nothing."""
    allowed: set[str] = set()
    for start in range(0, len(asks), _ROWS_PER_STATEMENT):
        chunk = asks[start : start + _ROWS_PER_STATEMENT]
        params: list[object] = []
        for limit, now_us in chunk:
            params.extend((limit.key, now_us + limit.interval_us, limit.interval_us))
            params.append(limit.tolerance_us)
        rows = tx.fetch_all(
            "INSERT INTO rate_limits (key, tat_us, interval_us, tolerance_us) VALUES "  # noqa: S608 - placeholders only
            + ", ".join(["(?, ?, ?, ?)"] * len(chunk))
            + " ON CONFLICT (key) DO UPDATE SET"
            # max(tat, now) + interval, where excluded.tat_us is now + interval
            "   tat_us = CASE WHEN rate_limits.tat_us + excluded.interval_us > excluded.tat_us"
            "     THEN rate_limits.tat_us + excluded.interval_us ELSE excluded.tat_us END,"
            "   interval_us = excluded.interval_us, tolerance_us = excluded.tolerance_us"
            " WHERE rate_limits.tat_us"
            "   <= excluded.tat_us - excluded.interval_us + excluded.tolerance_us"
            " RETURNING key",
            params,
        )
        allowed.update(str(row[0]) for row in rows)
    return allowed


def _refuse(tx: SyncTransaction, limit: Limit, taken: list[Limit], now_us: int) -> Refusal:
    """Give back what the request's earlier limits spent; how long until `limit` allows one."""
    for earlier in taken:
        tx.execute(
            "UPDATE rate_limits SET tat_us = tat_us - ? WHERE key = ?",
            (earlier.interval_us, earlier.key),
        )
    row = tx.fetch_one("SELECT tat_us FROM rate_limits WHERE key = ?", (limit.key,))
    tat_us = int(row[0]) if row is not None else now_us
    return Refusal(limit, max(0, tat_us - limit.tolerance_us - now_us) / MICROS)


async def forget_spent(db: Database, clock: Clock) -> int:
    """Delete the rows of keys back to their full burst (their tat has passed): they say nothing
    a missing row doesn't. Returns how many went (the scheduler's forget-limits job)."""
    now_us = math.floor(clock.now().timestamp() * MICROS)
    async with db.transaction() as tx:
        return await tx.execute("DELETE FROM rate_limits WHERE tat_us <= ?", (now_us,))

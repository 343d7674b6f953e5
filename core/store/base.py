"""What every store offers, whichever database is behind it (SQLite or PostgreSQL).

The capabilities only ever see these types. They write SQL with ``?`` placeholders and the
portable subset of both dialects; the few queries that must differ branch on ``db.dialect``.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# The pg_advisory_xact_lock key every PostgreSQL write transaction takes first (one writer at a
# time, as SQLite's write lock); whatever else writes golive's tables takes it too.
WRITE_LOCK_KEY = 0x676F6C697665  # "golive"

Timer = Callable[[str, float], None]
"""Told ("read" or "write", seconds) after each read and each write transaction (metrics)."""


class Row(Protocol):
    """A result row: by column name or position (Row and asyncpg.Record both are)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class IntegrityError(Exception):
    """The database refused a change that breaks one of its rules (a CHECK, a UNIQUE or foreign
    key, a trigger such as the ledger's append-only one). A bug, or a race lost to another write:
    the transaction was rolled back. Both stores raise this type, with the database's message."""


class DatabaseRefused(Exception):
    """The database can't be used as configured (a bad URL, password or database name): waiting
    won't help; the message says what to fix."""


def is_postgres_url(target: Path | str) -> bool:
    return str(target).startswith(POSTGRES_SCHEMES)


Opener = Callable[[Path | str, float], "AbstractAsyncContextManager[Database]"]
"""How a store opens (target, busy_timeout); each store's module registers its own, so this
module needs neither (core/store/__init__.py imports both)."""
_OPENERS: dict[str, Opener] = {}


def register_store(dialect: str, opener: Opener) -> None:
    _OPENERS[dialect] = opener


class Transaction(ABC):
    """The statements of one ``Database.transaction()``."""

    def __init__(self) -> None:
        self.notified: set[str] = set()

    def notify(self, channel: str) -> None:
        """Wake ``Database.signal(channel)`` waiters (in every process) once this commits."""
        self.notified.add(channel)

    @abstractmethod
    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""

    @abstractmethod
    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run an INSERT into a table with an ``id`` key; returns the new row's id."""

    @abstractmethod
    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...


class SyncTransaction(ABC):
    """The statements of one ``Database.run_transaction()``: plain calls, no awaits."""

    def __init__(self, notified: set[str]) -> None:
        self._notified = notified

    def notify(self, channel: str) -> None:
        """Wake ``Database.signal(channel)`` waiters (in every process) once this commits."""
        self._notified.add(channel)

    @abstractmethod
    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""

    @abstractmethod
    def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    @abstractmethod
    def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...


class Database(ABC):
    """A store: all-or-nothing transactions, reads that never queue behind a write, migrations."""

    dialect: str
    """Which SQL the store speaks ("sqlite" | "postgresql"), for the few queries that differ."""

    def __init__(self) -> None:
        self.write_problem: str | None = None
        """Why the last write could not be done ("locked", "failing"); None once one succeeds."""
        self.timer: Timer | None = None
        """With GET /metrics on: each read, and each write transaction from BEGIN to COMMIT."""
        self._signals: dict[str, asyncio.Event] = {}

    @staticmethod
    @asynccontextmanager
    async def open(target: Path | str, *, busy_timeout: float = 3.0) -> AsyncIterator[Database]:
        """Open and migrate the store at ``target``: a ``postgresql://`` URL or a SQLite path.

        ``busy_timeout``: seconds a write waits for the write lock before it is refused.
        """
        opener = _OPENERS["postgresql" if is_postgres_url(target) else "sqlite"]
        async with opener(target, busy_timeout) as database:
            yield database

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """All of it lands, or none of it. Raises ``StorageUnavailable`` (rolled back) when the
        write can't be done now; writes are one at a time across every process."""

    @abstractmethod
    async def run_transaction(self, work: Callable[[SyncTransaction], T]) -> T:
        """Run ``work`` as one transaction, off the event loop (hot paths: one hop, not one per
        statement). ``work`` must only talk to the database."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """All rows of one read, outside any transaction."""

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """One row (or None) of one read, outside any transaction."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    async def migrate(self) -> list[int]:
        """Apply the migrations not applied yet. Returns their numbers."""

    @abstractmethod
    async def check_writable(self) -> bool:
        """Try one tiny write; clears ``write_problem`` when it lands (else it says why not)."""

    @abstractmethod
    def recheck_writable(self) -> None:
        """While writes are failing, retry one tiny write in the background."""

    def signal(self, channel: str) -> asyncio.Event:
        """The event set when a transaction that called ``notify(channel)`` commits.

        A consumer clears it, reads what is waiting, then waits on it (with a timeout): a commit
        in between leaves it set, so nothing is missed. On PostgreSQL every process's commits set
        it (LISTEN/NOTIFY); on SQLite only this process's, and another's show at the consumer's
        next poll (its timeout).
        """
        return self._signals.setdefault(channel, asyncio.Event())

    def _wake(self, channels: Iterable[str]) -> None:
        for channel in channels:
            self.signal(channel).set()

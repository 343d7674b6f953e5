"""The SQLite store: one aiosqlite connection, WAL, foreign keys, numbered migrations.

aiosqlite runs statements one after another on its own thread, but two coroutines can still
interleave *between* statements. Every multi-statement write therefore goes through
``Database.transaction()``, which holds an asyncio lock and a ``BEGIN IMMEDIATE`` so that the
whole unit either lands or does not, and so that another process (``golive web`` beside the bot)
waits for the write lock instead of failing halfway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class Database:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._write_lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str) -> AsyncIterator[Database]:
        """Open (creating folders as needed), configure and migrate the database."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            connection.row_factory = aiosqlite.Row
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA busy_timeout=5000")
            await connection.execute("PRAGMA synchronous=NORMAL")
            database = cls(connection)
            await database.migrate()
            yield database
        finally:
            await connection.close()

    async def migrate(self) -> list[int]:
        """Apply the migrations not applied yet, each in its own transaction. Returns their numbers."""
        await self._connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
        )
        applied = {row[0] for row in await self.fetch_all("SELECT version FROM schema_migrations")}
        done: list[int] = []
        for version, sql in _migrations():
            if version in applied:
                continue
            async with self.transaction() as tx:
                for statement in _split_statements(sql):
                    await tx.execute(statement)
                await tx.execute("INSERT INTO schema_migrations (version) VALUES (?)", (version,))
            log.info("applied migration %04d", version)
            done.append(version)
        return done

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._write_lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._connection)
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            await self._connection.execute("COMMIT")

    async def run_transaction(self, work: Callable[[SyncTransaction], T]) -> T:
        """Run ``work`` as one ``BEGIN IMMEDIATE`` transaction on the database's own thread.

        For hot paths (LiveKit webhooks): every awaited statement costs a hop to aiosqlite's
        thread and back (2-3 per statement), which dominates small transactions; here the whole
        unit is one hop. ``work`` must only talk to SQLite: it runs off the event loop.
        """
        async with self._write_lock:
            return await _on_connection_thread(self._connection, _run_transaction, work)

    async def check_writable(self) -> None:
        """Take the write lock and write a page, then roll back (readiness probes).

        Raises ``sqlite3.Error`` when the file can't be written (read-only, disk full, locked
        by another process for longer than the busy timeout).
        """
        with contextlib.suppress(_RolledBack):
            await self.run_transaction(_touch_and_roll_back)

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self._connection.execute(sql, tuple(params)) as cursor:
            row: aiosqlite.Row | None = await cursor.fetchone()
            return row

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._connection.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())


class Transaction:
    """The statements of one ``Database.transaction()``."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""
        async with self._connection.execute(sql, tuple(params)) as cursor:
            return cursor.rowcount

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run an INSERT; returns the new row's id."""
        async with self._connection.execute(sql, tuple(params)) as cursor:
            row_id = cursor.lastrowid
        if row_id is None:
            raise RuntimeError("INSERT produced no row id")
        return row_id

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self._connection.execute(sql, tuple(params)) as cursor:
            row: aiosqlite.Row | None = await cursor.fetchone()
            return row


class SyncTransaction:
    """The statements of one ``Database.run_transaction()``, run on the database's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""
        return self._connection.execute(sql, tuple(params)).rowcount

    def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._connection.execute(sql, tuple(params)).fetchone()
        return row

    def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return list(self._connection.execute(sql, tuple(params)).fetchall())


def _run_transaction(connection: sqlite3.Connection, work: Callable[[SyncTransaction], T]) -> T:
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work(SyncTransaction(connection))
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result


class _RolledBack(Exception):
    """Ends a probe's transaction without committing it."""


def _touch_and_roll_back(tx: SyncTransaction) -> None:
    tx.execute("UPDATE schema_migrations SET applied_at = applied_at")
    raise _RolledBack


def _migrations() -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for entry in resources.files("core.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _split_statements(sql: str) -> list[str]:
    """Split a migration into statements; sqlite3 knows where one ends (triggers included)."""
    statements: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise ValueError(f"unterminated SQL statement in migration: {pending.strip()[:80]}")
    return statements


async def _on_connection_thread(
    connection: aiosqlite.Connection,
    function: Callable[[sqlite3.Connection, Callable[[SyncTransaction], T]], T],
    work: Callable[[SyncTransaction], T],
) -> T:
    """Run ``function(sqlite3_connection, work)`` on aiosqlite's thread, between its statements.

    aiosqlite has no public way to do this; its own methods all go through ``_execute`` and
    ``_conn``, which is why pyproject.toml pins aiosqlite below 0.23 and
    tests/core/store/test_db.py fails loudly if a release drops them. This is the one place
    golive reaches inside aiosqlite.
    """
    result: T = await connection._execute(function, connection._conn, work)  # type: ignore[no-untyped-call]
    return result

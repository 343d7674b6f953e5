"""The SQLite store: one connection on its own thread, WAL, foreign keys, numbered migrations.

sqlite3 blocks, so the connection lives on a thread of its own (stdlib threading, a queue and
``loop.call_soon_threadsafe``; aiosqlite's private hooks are not needed) and every statement is
one hop there and back. The
statements of different coroutines still interleave *between* hops. Every multi-statement write
therefore goes through ``Database.transaction()``, which holds an asyncio lock and a
``BEGIN IMMEDIATE`` so that the whole unit either lands or does not, and so that another process
(``golive web`` beside the bot) waits for the write lock instead of failing halfway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class _Connection:
    """A sqlite3 connection and the one thread that may use it.

    The thread takes jobs from a queue and hands each result back with the event loop's
    ``call_soon_threadsafe`` (a ThreadPoolExecutor measured twice as slow per hop here). The
    connection is made on that thread, so sqlite3's own same-thread check guards the rule. A
    statement runs, fetches and closes its cursor in one hop: no cursor outlives its call, so no
    half-read SELECT keeps a read snapshot open.
    """

    def __init__(self) -> None:
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        # A daemon: a database someone forgot to close must not keep the process alive.
        self._thread = threading.Thread(target=_serve, args=(self._jobs,), name="golive-db")
        self._thread.daemon = True
        self._sqlite: sqlite3.Connection | None = None

    @classmethod
    async def open(cls, path: str) -> _Connection:
        connection = cls()
        connection._thread.start()
        try:
            connection._sqlite = await connection._call(_connect, path)
        except BaseException:
            connection._jobs.put(None)
            raise
        return connection

    def _call(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((future, function, args))
        return future

    @property
    def _db(self) -> sqlite3.Connection:
        if self._sqlite is None:
            raise RuntimeError("the database is not open")
        return self._sqlite

    def run(self, work: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Run ``work(connection)`` on the connection's thread."""
        return self._call(work, self._db)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> asyncio.Future[int]:
        return self._call(_execute, self._db, sql, params)

    def insert(self, sql: str, params: tuple[Any, ...]) -> asyncio.Future[int | None]:
        return self._call(_insert, self._db, sql, params)

    def fetch_one(self, sql: str, params: tuple[Any, ...]) -> asyncio.Future[sqlite3.Row | None]:
        return self._call(_fetch_one, self._db, sql, params)

    def fetch_all(self, sql: str, params: tuple[Any, ...]) -> asyncio.Future[list[sqlite3.Row]]:
        return self._call(_fetch_all, self._db, sql, params)

    async def close(self) -> None:
        try:
            if self._sqlite is not None:
                await self._call(sqlite3.Connection.close, self._sqlite)
        finally:
            self._sqlite = None
            self._jobs.put(None)
            self._thread.join()


_Job = tuple["asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def _serve(jobs: SimpleQueue[_Job | None]) -> None:
    """The database thread: run each job, hand its outcome to the job's event loop."""
    while (job := jobs.get()) is not None:
        future, function, args = job
        try:
            result = function(*args)
        except BaseException as error:
            future.get_loop().call_soon_threadsafe(_fail, future, error)
        else:
            future.get_loop().call_soon_threadsafe(_succeed, future, result)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the caller may have been cancelled meanwhile
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: sqlite3 opens no transaction behind our back; we say BEGIN ourselves.
    connection = sqlite3.connect(path, isolation_level=None)
    connection.row_factory = sqlite3.Row
    return connection


def _execute(connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> int:
    with contextlib.closing(connection.execute(sql, params)) as cursor:
        return cursor.rowcount


def _insert(connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> int | None:
    with contextlib.closing(connection.execute(sql, params)) as cursor:
        return cursor.lastrowid


def _fetch_one(
    connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]
) -> sqlite3.Row | None:
    with contextlib.closing(connection.execute(sql, params)) as cursor:
        row: sqlite3.Row | None = cursor.fetchone()
        return row


def _fetch_all(
    connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]
) -> list[sqlite3.Row]:
    with contextlib.closing(connection.execute(sql, params)) as cursor:
        return cursor.fetchall()


class Database:
    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._write_lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str) -> AsyncIterator[Database]:
        """Open (creating folders as needed), configure and migrate the database."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await _Connection.open(str(path))
        try:
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

        For hot paths (LiveKit webhooks, chat batches): every awaited statement costs a hop to
        the database's thread and back, which dominates small transactions; here the whole unit
        is one hop. ``work`` must only talk to SQLite: it runs off the event loop.
        """
        async with self._write_lock:
            return await self._connection.run(lambda connection: _run_transaction(connection, work))

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        return await self._connection.fetch_one(sql, tuple(params))

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return await self._connection.fetch_all(sql, tuple(params))


class Transaction:
    """The statements of one ``Database.transaction()``."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""
        return await self._connection.execute(sql, tuple(params))

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run an INSERT; returns the new row's id."""
        row_id = await self._connection.insert(sql, tuple(params))
        if row_id is None:
            raise RuntimeError("INSERT produced no row id")
        return row_id

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        return await self._connection.fetch_one(sql, tuple(params))


class SyncTransaction:
    """The statements of one ``Database.run_transaction()``, run on the database's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""
        return _execute(self._connection, sql, tuple(params))

    def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        return _fetch_one(self._connection, sql, tuple(params))

    def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return _fetch_all(self._connection, sql, tuple(params))


def _run_transaction(connection: sqlite3.Connection, work: Callable[[SyncTransaction], T]) -> T:
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work(SyncTransaction(connection))
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result


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

"""The SQLite store (the embedded default): one aiosqlite connection, WAL, foreign keys, numbered migrations.

aiosqlite runs statements one after another on its own thread, but two coroutines can still
interleave *between* statements. Every multi-statement write therefore goes through
``Database.transaction()``, which holds an asyncio lock and a ``BEGIN IMMEDIATE`` so that the
whole unit either lands or does not, and so that another process (``golive web`` beside the bot)
waits for the write lock instead of failing halfway.

That wait is bounded (``busy_timeout``): a write that can't be done now (the lock held elsewhere
for longer, a full or failing disk) is rolled back and raised as ``StorageUnavailable``, which
both fronts answer with "try again in a moment". Plain reads outside a transaction go through a
second, read-only connection: WAL lets it read while a writer (ours or another process's) holds
the lock, so pages, tokens and /healthz never queue behind a waiting write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from core.kernel.errors import StorageUnavailable
from core.store.base import (
    Database,
    IntegrityError,
    Row,
    SyncTransaction,
    Transaction,
    register_store,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

DEFAULT_BUSY_TIMEOUT = 3.0  # seconds a write waits for another process's write lock

_LOCKED = "locked"
_FAILING = "failing"
# sqlite3's primary result codes (the low byte of an extended code).
_CODES = {
    sqlite3.SQLITE_BUSY: _LOCKED,
    sqlite3.SQLITE_LOCKED: _LOCKED,
    sqlite3.SQLITE_FULL: _FAILING,
    sqlite3.SQLITE_IOERR: _FAILING,
    sqlite3.SQLITE_READONLY: _FAILING,
}
_MESSAGES = {
    _LOCKED: "The server is busy saving other things; nothing was saved. "
    "Please try again in a moment.",
    _FAILING: "The server can't save anything right now; nothing was saved. "
    "Please try again in a moment.",
}
# A full disk is rarely freed within seconds; a held lock usually is.
_FAILING_RETRY_AFTER = 30


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(
        self, connection: aiosqlite.Connection, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        super().__init__()
        self._connection = connection
        self._reader = connection  # until connect() adds a read-only one
        self._write_lock = asyncio.Lock()
        self._busy_timeout = busy_timeout
        self._probe: asyncio.Task[bool] | None = None

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, path: Path | str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> AsyncIterator[SQLiteDatabase]:
        """Open (creating folders as needed), configure and migrate the database.

        ``busy_timeout``: seconds a write waits for the write lock before it is refused.
        """
        in_memory = str(path) == ":memory:"
        if not in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(str(path), isolation_level=None)
        reader: aiosqlite.Connection | None = None
        database = cls(connection, busy_timeout=busy_timeout)
        try:
            connection.row_factory = aiosqlite.Row
            await connection.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            await _switch_to_wal(connection, busy_timeout)
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA synchronous=NORMAL")
            await database.migrate()
            if not in_memory:  # a second connection to ":memory:" would be another database
                reader = await _open_reader(path, busy_timeout)
                database._reader = reader
            yield database
        finally:
            await database._stop_probe()
            if reader is not None:
                await reader.close()
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
                # Asked again under the write lock: processes started at once on a new database
                # (replicas) all saw it missing, and only the first may apply it.
                if await tx.fetch_one(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                ):
                    continue
                for statement in _split_statements(sql):
                    await tx.execute(statement)
                await tx.execute("INSERT INTO schema_migrations (version) VALUES (?)", (version,))
            log.info("applied migration %04d", version)
            done.append(version)
        return done

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT``: all of it lands, or none of it.

        Raises ``StorageUnavailable`` (after rolling back) when the write can't be done now.
        """
        async with self._writing(), self._timed("write"):
            changes = self._connection.total_changes
            try:
                await self._connection.execute("BEGIN IMMEDIATE")
                tx = _Transaction(self._connection)
                yield tx
                await self._connection.execute("COMMIT")
            except sqlite3.IntegrityError as error:
                await self._rollback()
                raise IntegrityError(str(error)) from error
            except sqlite3.Error as error:
                await self._rollback()
                unavailable = self._unavailable(error)
                if unavailable is None:
                    raise
                raise unavailable from error
            except BaseException:
                await self._rollback()
                raise
            self._committed(wrote=self._connection.total_changes != changes)
            self._wake(tx.notified)

    async def run_transaction(self, work: Callable[[SyncTransaction], T]) -> T:
        """Run ``work`` as one ``BEGIN IMMEDIATE`` transaction on the database's own thread.

        For hot paths (LiveKit webhooks): every awaited statement costs a hop to aiosqlite's
        thread and back (2-3 per statement), which dominates small transactions; here the whole
        unit is one hop. ``work`` must only talk to SQLite: it runs off the event loop.
        Raises ``StorageUnavailable`` (rolled back) when the write can't be done now.
        """
        async with self._writing(), self._timed("write"):
            changes = self._connection.total_changes
            notified: set[str] = set()
            try:
                result = await _on_connection_thread(
                    self._connection, _run_transaction, work, notified
                )
            except sqlite3.IntegrityError as error:  # rolled back on the thread already
                raise IntegrityError(str(error)) from error
            except sqlite3.Error as error:
                unavailable = self._unavailable(error)
                if unavailable is None:
                    raise
                raise unavailable from error
            self._committed(wrote=self._connection.total_changes != changes)
            self._wake(notified)
            return result

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """All rows, read on the read-only connection (never behind a waiting write).

        One step on the reader's thread that runs the statement to its end: a statement left
        open between steps would hold the reader's snapshot, and a read right after this
        process's own commit would not see it.
        """
        started = time.perf_counter()
        try:
            return list(await self._reader.execute_fetchall(sql, tuple(params)))
        except sqlite3.Error as error:
            unavailable = _storage_error(error, self._busy_timeout, reading=True)
            if unavailable is None:
                raise
            raise unavailable from error
        finally:
            if self.timer is not None:  # inline, not _timed(): reads are the hot path
                self.timer("read", time.perf_counter() - started)

    def recheck_writable(self) -> None:
        """While writes are failing, try one tiny write in the background (one at a time), so
        ``write_problem`` clears by itself once the trouble has passed, even if nobody writes."""
        if self.write_problem is None or (self._probe is not None and not self._probe.done()):
            return
        self._probe = asyncio.create_task(self.check_writable())

    async def check_writable(self) -> bool:
        """Try one tiny write; clears ``write_problem`` when it lands (else it says why not)."""
        try:
            async with self.transaction() as tx:
                # Rewriting the header's user_version writes a page, as any real write does.
                row = await tx.fetch_one("PRAGMA user_version")
                await tx.execute(f"PRAGMA user_version = {int(row[0]) if row else 0}")
        except StorageUnavailable:
            return False
        self.write_problem = None
        return True

    async def _stop_probe(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        """The write lock of this process, waited for no longer than SQLite waits for others'."""
        try:
            async with asyncio.timeout(self._busy_timeout):
                await self._write_lock.acquire()
        except TimeoutError:
            self.write_problem = _LOCKED
            raise _unavailable_as(_LOCKED, self._busy_timeout) from None
        try:
            yield
        finally:
            self._write_lock.release()

    @asynccontextmanager
    async def _timed(self, kind: str) -> AsyncIterator[None]:
        timer = self.timer
        if timer is None:
            yield
            return
        started = time.perf_counter()
        try:
            yield
        finally:
            timer(kind, time.perf_counter() - started)

    def _committed(self, *, wrote: bool) -> None:
        # A commit that changed no row proves the lock is free, not that the disk takes writes.
        if wrote or self.write_problem == _LOCKED:
            self.write_problem = None

    async def _rollback(self) -> None:
        # Always sent, never decided by in_transaction: a caller cancelled while its BEGIN was
        # queued on aiosqlite's thread sees no transaction yet, but the BEGIN still runs, and
        # this ROLLBACK runs after it. A failed COMMIT may already have rolled back; a failing
        # disk may refuse the ROLLBACK too, and then SQLite discards the transaction when the
        # connection is next used.
        try:
            await self._connection.execute("ROLLBACK")
        except sqlite3.Error as error:
            if "no transaction is active" not in str(error):
                log.warning("could not roll back a failed write: %s", error)

    def _unavailable(self, error: sqlite3.Error) -> StorageUnavailable | None:
        unavailable = _storage_error(error, self._busy_timeout)
        if unavailable is not None:
            self.write_problem = _kind_of(error)
        return unavailable


class _Transaction(Transaction):
    def __init__(self, connection: aiosqlite.Connection) -> None:
        super().__init__()
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


class _SyncTransaction(SyncTransaction):
    """Run on the database's own thread."""

    def __init__(self, connection: sqlite3.Connection, notified: set[str]) -> None:
        super().__init__(notified)
        self._connection = connection

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""
        return self._connection.execute(sql, tuple(params)).rowcount

    def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        row: aiosqlite.Row | None = self._connection.execute(sql, tuple(params)).fetchone()
        return row

    def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(self._connection.execute(sql, tuple(params)).fetchall())


def _run_transaction(
    connection: sqlite3.Connection, work: Callable[[SyncTransaction], T], notified: set[str]
) -> T:
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work(_SyncTransaction(connection, notified))
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:  # a failed COMMIT may have rolled back already
            try:
                connection.execute("ROLLBACK")
            except sqlite3.Error as error:
                log.warning("could not roll back a failed write: %s", error)
        raise
    return result


async def _switch_to_wal(connection: aiosqlite.Connection, busy_timeout: float) -> None:
    """Put the file in WAL mode, waiting up to ``busy_timeout`` for processes opening it too.

    The switch takes an exclusive lock; when another new process holds a read lock and wants
    the same, SQLite answers "locked" at once instead of waiting (waiting could deadlock), so
    the wait is here: a few tries with a short backoff.
    """
    deadline = time.monotonic() + busy_timeout
    pause = 0.01
    while True:
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if _kind_of(error) != _LOCKED or time.monotonic() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.2)


async def _open_reader(path: Path | str, busy_timeout: float) -> aiosqlite.Connection:
    """A second connection for plain reads; ``query_only`` keeps writes on the one writer."""
    reader = await aiosqlite.connect(str(path), isolation_level=None)
    try:
        reader.row_factory = aiosqlite.Row
        await reader.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        await reader.execute("PRAGMA foreign_keys=ON")  # as the writer, so PRAGMA reads agree
        await reader.execute("PRAGMA query_only=ON")
    except BaseException:
        await reader.close()
        raise
    return reader


def _kind_of(error: sqlite3.Error) -> str | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else _CODES.get(code & 0xFF)


def _storage_error(
    error: sqlite3.Error, busy_timeout: float, *, reading: bool = False
) -> StorageUnavailable | None:
    """``StorageUnavailable`` for a lock held too long or a full/failing disk; None for a bug
    (a constraint, bad SQL), which must stay loud."""
    kind = _kind_of(error)
    if kind is None:
        return None
    log.warning("the database could not %s: %s", "read" if reading else "write", error)
    return _unavailable_as(kind, busy_timeout)


def _unavailable_as(kind: str, busy_timeout: float) -> StorageUnavailable:
    retry_after = _FAILING_RETRY_AFTER if kind == _FAILING else max(1, math.ceil(busy_timeout))
    return StorageUnavailable(_MESSAGES[kind], retry_after=retry_after)


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
    function: Callable[[sqlite3.Connection, Callable[[SyncTransaction], T], set[str]], T],
    work: Callable[[SyncTransaction], T],
    notified: set[str],
) -> T:
    """Run ``function(sqlite3_connection, work)`` on aiosqlite's thread, between its statements.

    aiosqlite has no public way to do this; its own methods all go through ``_execute`` and
    ``_conn``, which is why pyproject.toml pins aiosqlite below 0.23 and
    tests/core/store/test_db.py fails loudly if a release drops them. This is the one place
    golive reaches inside aiosqlite.
    """
    result: T = await connection._execute(function, connection._conn, work, notified)  # type: ignore[no-untyped-call]
    return result


register_store(
    "sqlite", lambda target, busy_timeout: SQLiteDatabase.connect(target, busy_timeout=busy_timeout)
)

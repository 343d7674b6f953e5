"""The PostgreSQL store (the shared one, for many processes on many machines), through asyncpg.

It behaves as the SQLite store does, so every capability and every test runs unchanged on both:

- **Writes are one at a time across the cluster.** Each write transaction first takes one
  transaction-scoped advisory lock, as SQLite's ``BEGIN IMMEDIATE`` takes its write lock, so every
  check-then-write in the capabilities (a balance, a claim, an open session) holds exactly as on
  SQLite, whoever else writes. Writes are short and batched where they are hot (chat, tips,
  webhooks: group commit), and reads — most of the traffic: tokens, pages, search — never take
  the lock and run in parallel on every replica.
- Waiting for that lock is bounded (``busy_timeout``); a write that can't be done now, or a
  server that can't be reached, rolls back and raises ``StorageUnavailable`` (503 / "try again").
- ``notify(channel)`` in a transaction becomes ``NOTIFY golive_<channel>`` (delivered at COMMIT),
  and each process LISTENs, so ``signal(channel)`` wakes consumers in every process at once.
- SQL keeps SQLite's ``?`` placeholders; they are rewritten to ``$1..$n`` once per statement text.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any, TypeVar

import asyncpg

from core.kernel.errors import StorageUnavailable
from core.store.base import (
    WRITE_LOCK_KEY,
    Database,
    DatabaseRefused,
    IntegrityError,
    Row,
    SyncTransaction,
    Transaction,
    register_store,
)

log = logging.getLogger(__name__)

# What a pooled connection is (a proxy of asyncpg.Connection); every call golive makes is on it.
_Connection = Any

T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# pg_advisory_xact_lock keys: one for writes, one for migrations (any two fixed bigints).
_MIGRATE_LOCK = WRITE_LOCK_KEY + 1
_CHANNEL_PREFIX = "golive_"
_POOL_SIZE = 10
_CONNECT_TIMEOUT = 5.0

_LOCKED = "locked"
_FAILING = "failing"
_UNREACHABLE = "unreachable"
_MESSAGES = {
    _LOCKED: "The server is busy saving other things; nothing was saved. "
    "Please try again in a moment.",
    _FAILING: "The server can't save anything right now; nothing was saved. "
    "Please try again in a moment.",
    _UNREACHABLE: "The server can't reach its database right now; nothing was saved. "
    "Please try again in a moment.",
}
_RETRY_AFTER = {_LOCKED: 1, _FAILING: 30, _UNREACHABLE: 5}
# SQLSTATE classes and codes that mean "not now" rather than "a bug": lock/statement timeouts,
# insufficient resources (disk full, too many connections), the server going away.
_STATE_KINDS = {
    "55P03": _LOCKED,  # lock_not_available (lock_timeout)
    "57014": _LOCKED,  # query_canceled (statement_timeout)
    "40001": _LOCKED,  # serialization_failure
    "40P01": _LOCKED,  # deadlock_detected
    "53": _FAILING,  # insufficient resources
    "58": _FAILING,  # system error (I/O)
    "57P": _UNREACHABLE,  # admin/crash shutdown, cannot connect now
    "08": _UNREACHABLE,  # connection exceptions
}


# Refusals that waiting won't change: a wrong password or role (28…), no such database (3D000).
_REFUSALS = ("28", "3D")
# What a statement may raise when the server is slow, busy or gone, rather than for a bug.
_TROUBLE = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str, *, busy_timeout: float) -> None:
        super().__init__()
        self._pool = pool
        self._url = url
        self._busy_timeout = busy_timeout
        # BEGIN, the bound on waiting and the write lock, in one round trip (simple protocol).
        self._begin_write = (
            f"BEGIN; SET LOCAL lock_timeout = '{max(1, int(busy_timeout * 1000))}ms';"
            f" SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"
        )
        self._listener: _Connection | None = None
        self._listening: set[str] = set()
        self._relisten: asyncio.Task[None] | None = None
        self._closing = False
        self._probe: asyncio.Task[bool] | None = None

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, url: str, *, busy_timeout: float = 3.0
    ) -> AsyncIterator[PostgresDatabase]:
        """Connect a pool to ``url`` and migrate. Raises ``StorageUnavailable`` when the server
        can't be reached (the caller retries with backoff), ``DatabaseRefused`` when it never
        will (a bad URL, password or database name)."""
        pool = await _create_pool(url)
        database = cls(pool, url, busy_timeout=busy_timeout)
        try:
            await database.migrate()
            await database._start_listening()
            yield database
        finally:
            await database._stop_listening()
            await database._stop_probe()
            await pool.close()

    # -- transactions ---------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._writing() as connection:
            tx = _Transaction(connection)
            yield tx
            await _notify(connection, tx.notified)
        self._wake(tx.notified)

    async def run_transaction(self, work: Callable[[SyncTransaction], T]) -> T:
        """``work`` runs on a worker thread; each of its statements is sent on this loop's
        connection and waited for there, so it reads as plain calls, as on SQLite."""
        loop = asyncio.get_running_loop()
        notified: set[str] = set()
        async with self._writing() as connection:
            sync = _SyncTransaction(connection, loop, notified)
            result = await asyncio.to_thread(work, sync)
            await _notify(connection, notified)
        self._wake(notified)
        return result

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[_Connection]:
        started = time.perf_counter()
        try:
            async with self._pool.acquire(timeout=self._busy_timeout) as connection:
                try:
                    await connection.execute(self._begin_write)
                    yield connection
                    await connection.execute("COMMIT")
                except BaseException:
                    await _roll_back(connection)
                    raise
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.RaiseError) as error:
            raise IntegrityError(error.args[0] if error.args else str(error)) from error
        except _TROUBLE as error:
            unavailable = self._unavailable(error)
            if unavailable is None:
                raise
            raise unavailable from error
        else:
            self.write_problem = None
        finally:
            if self.timer is not None:
                self.timer("write", time.perf_counter() - started)

    # -- reads ----------------------------------------------------------------------------------

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        started = time.perf_counter()
        try:
            return list(await self._pool.fetch(_positional(sql), *_values(params)))
        except _TROUBLE as error:
            unavailable = _storage_error(error, reading=True)
            if unavailable is None:
                raise
            raise unavailable from error
        finally:
            if self.timer is not None:
                self.timer("read", time.perf_counter() - started)

    # -- health ---------------------------------------------------------------------------------

    async def check_writable(self) -> bool:
        try:
            async with self.transaction() as tx:
                await tx.execute("SELECT 1")
        except StorageUnavailable:
            return False
        self.write_problem = None
        return True

    def recheck_writable(self) -> None:
        if self.write_problem is None or (self._probe is not None and not self._probe.done()):
            return
        self._probe = asyncio.create_task(self.check_writable())

    async def _stop_probe(self) -> None:
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe

    def _unavailable(self, error: BaseException) -> StorageUnavailable | None:
        kind = _kind_of(error)
        if kind is None:
            return None
        self.write_problem = kind
        return _storage_error(error)

    # -- migrations -----------------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        """Apply the migrations not applied yet, each in its own transaction, one process at a
        time (replicas starting together wait for the first)."""
        done: list[int] = []
        async with self._pool.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATE_LOCK)
            try:
                await connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version INTEGER PRIMARY KEY,"
                    " applied_at TEXT NOT NULL DEFAULT (to_char(now() AT TIME ZONE 'UTC',"
                    " 'YYYY-MM-DD HH24:MI:SS')))"
                )
                rows = await connection.fetch("SELECT version FROM schema_migrations")
                applied = {row["version"] for row in rows}
                for version, sql in _migrations():
                    if version in applied:
                        continue
                    async with connection.transaction():
                        await connection.execute(sql)
                        await connection.execute(
                            "INSERT INTO schema_migrations (version) VALUES ($1)", version
                        )
                    log.info("applied migration %04d", version)
                    done.append(version)
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATE_LOCK)
        return done

    # -- notifications --------------------------------------------------------------------------

    async def _start_listening(self) -> None:
        """A connection of its own (never the pool's) LISTENs on every channel signal() has
        been asked for. If it is lost (a restart, a failover), it is opened again with backoff;
        meanwhile consumers still poll, and once it is back every signal is set, since a
        notification may have been missed."""
        connection: _Connection = await asyncpg.connect(self._url, timeout=_CONNECT_TIMEOUT)
        connection.add_termination_listener(self._listener_lost)
        self._listener = connection
        for channel in self._listening | set(self._signals):
            await self._listen(channel)

    def signal(self, channel: str) -> asyncio.Event:
        event = super().signal(channel)
        if self._listener is not None and channel not in self._listening:
            self._listening.add(channel)
            asyncio.get_running_loop().create_task(self._listen(channel))
        return event

    async def _listen(self, channel: str) -> None:
        self._listening.add(channel)
        if self._listener is None or self._listener.is_closed():
            return  # _listen_again adds it
        await self._listener.add_listener(
            _CHANNEL_PREFIX + channel, lambda *_: self.signal(channel).set()
        )

    def _listener_lost(self, _connection: object) -> None:
        self._listener = None
        if self._closing or (self._relisten is not None and not self._relisten.done()):
            return
        log.warning("lost the PostgreSQL connection that listens for events; reconnecting")
        self._relisten = asyncio.get_running_loop().create_task(self._listen_again())

    async def _listen_again(self) -> None:
        for attempt in itertools.count():
            await asyncio.sleep(min(30, 2**attempt * 0.5))
            try:
                await self._start_listening()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
                continue
            log.info("listening for events on PostgreSQL again")
            self._wake(list(self._signals))
            return

    async def _stop_listening(self) -> None:
        self._closing = True
        if self._relisten is not None:
            self._relisten.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relisten
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()


class _Transaction(Transaction):
    def __init__(self, connection: _Connection) -> None:
        super().__init__()
        self._connection = connection

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        status: str = await self._connection.execute(_positional(sql), *_values(params))
        return _rowcount(status)

    async def insert(self, sql: str, params: Iterable[Any] = ()) -> int:
        row_id = await self._connection.fetchval(_returning_id(sql), *_values(params))
        if row_id is None:
            raise RuntimeError("INSERT produced no row id")
        return int(row_id)

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        row: Row | None = await self._connection.fetchrow(_positional(sql), *_values(params))
        return row


class _SyncTransaction(SyncTransaction):
    """Plain calls from a worker thread, each run on the event loop's connection."""

    def __init__(
        self, connection: _Connection, loop: asyncio.AbstractEventLoop, notified: set[str]
    ) -> None:
        super().__init__(notified)
        self._connection = connection
        self._loop = loop

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        status: str = self._wait(self._connection.execute(_positional(sql), *_values(params)))
        return _rowcount(status)

    def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        row: Row | None = self._wait(self._connection.fetchrow(_positional(sql), *_values(params)))
        return row

    def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(self._wait(self._connection.fetch(_positional(sql), *_values(params))))

    def _wait(self, statement: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(statement, self._loop).result()


async def _create_pool(url: str) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=_POOL_SIZE,
            timeout=_CONNECT_TIMEOUT,
            init=_init_connection,
            # Nothing golive does outlives a transaction (its lock is transaction-scoped, its
            # settings SET LOCAL, its LISTEN on a connection never given back), so a connection
            # back in the pool needs no RESET ALL / UNLISTEN round trip: ~40% of a token's.
            reset=_nothing_to_reset,
            # One statement cache per connection; golive's statements are few and fixed.
            statement_cache_size=512,
        )
    except asyncpg.PostgresError as error:
        state = getattr(error, "sqlstate", "") or ""
        if state.startswith(_REFUSALS):
            raise DatabaseRefused(f"PostgreSQL refused golive: {error}") from error
        raise StorageUnavailable(
            f"can't reach PostgreSQL ({_describe(error)})", retry_after=_RETRY_AFTER[_UNREACHABLE]
        ) from error
    except (OSError, TimeoutError) as error:
        raise StorageUnavailable(
            f"can't reach PostgreSQL ({_describe(error)})", retry_after=_RETRY_AFTER[_UNREACHABLE]
        ) from error
    except (asyncpg.InterfaceError, ValueError) as error:
        raise DatabaseRefused(f"not a usable PostgreSQL URL ({error})") from error
    if pool is None:  # only with a pool that was already closed
        raise RuntimeError("asyncpg returned no pool")
    return pool


async def _init_connection(connection: _Connection) -> None:
    # SUM() and AVG() of integers are numeric in PostgreSQL; golive's sums are whole credits,
    # as SQLite gives them (int), and anything fractional reads as a float, as on SQLite.
    await connection.set_type_codec(
        "numeric", encoder=str, decoder=_number, schema="pg_catalog", format="text"
    )


async def _nothing_to_reset(connection: _Connection) -> None:
    return None


async def _roll_back(connection: _Connection) -> None:
    """Every failed write ends here, so no connection goes back to the pool inside a transaction
    (the pool does not reset them); one that can't even roll back is closed, not reused."""
    if connection.is_closed():
        return
    try:
        await connection.execute("ROLLBACK")
    except _TROUBLE:
        connection.terminate()


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


async def _notify(connection: _Connection, channels: set[str]) -> None:
    for channel in sorted(channels):
        await connection.execute(f'NOTIFY "{_CHANNEL_PREFIX}{channel}"')


def _values(params: Iterable[Any]) -> tuple[Any, ...]:
    """The parameters as PostgreSQL takes them: its text can't hold NUL (SQLite's can), which
    only a request's path or query can bring (golive's text rules strip control characters from
    what it stores). As U+FFFD it matches nothing stored, as on SQLite, instead of a 500."""
    values = tuple(params)
    if any(type(value) is str and "\x00" in value for value in values):
        return tuple(
            value.replace("\x00", "\ufffd") if type(value) is str else value for value in values
        )
    return values


@lru_cache(maxsize=2048)
def _positional(sql: str) -> str:
    """``?`` → ``$1``, ``$2``… outside quotes and comments."""
    out: list[str] = []
    number = 0
    i = 0
    length = len(sql)
    while i < length:
        char = sql[i]
        if char in "'\"":
            end = sql.find(char, i + 1)
            while end != -1 and end + 1 < length and sql[end + 1] == char:  # '' escapes
                end = sql.find(char, end + 2)
            end = length - 1 if end == -1 else end
            out.append(sql[i : end + 1])
            i = end + 1
        elif char == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = length if end == -1 else end
            out.append(sql[i:end])
            i = end
        elif char == "?":
            number += 1
            out.append(f"${number}")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def _returning_id(sql: str) -> str:
    statement = _positional(sql).rstrip().rstrip(";")
    if re.search(r"\bRETURNING\b", statement, re.IGNORECASE):
        return statement
    return statement + " RETURNING id"


def _rowcount(status: str) -> int:
    """asyncpg's command tag ("UPDATE 3", "INSERT 0 1") → the rows it changed."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _kind_of(error: BaseException) -> str | None:
    # InternalClientError: a connection left in a broken state by a cut mid-statement.
    if isinstance(
        error, (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.InternalClientError)
    ):
        return _UNREACHABLE
    if isinstance(error, asyncpg.PostgresConnectionError):
        return _UNREACHABLE
    state = getattr(error, "sqlstate", None) or ""
    for prefix, kind in _STATE_KINDS.items():
        if state.startswith(prefix):
            return kind
    return None


def _storage_error(error: BaseException, *, reading: bool = False) -> StorageUnavailable | None:
    """``StorageUnavailable`` for a lock held too long, a full disk or a lost server; None for a
    bug (a constraint, bad SQL), which must stay loud."""
    kind = _kind_of(error)
    if kind is None:
        return None
    log.warning("the database could not %s: %s", "read" if reading else "write", _describe(error))
    return StorageUnavailable(_MESSAGES[kind], retry_after=_RETRY_AFTER[kind])


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _migrations() -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for entry in resources.files("core.store.migrations").joinpath("postgres").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


register_store(
    "postgresql",
    lambda target, busy_timeout: PostgresDatabase.connect(str(target), busy_timeout=busy_timeout),
)

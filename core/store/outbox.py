"""The outbox: events written in the transaction that caused them, delivered at least once.

A publisher calls ``record(tx, event)`` inside the transaction of its change; the event lands
with the change or not at all. The database's trigger gives it one delivery row per durable
consumer of its type (``outbox_routes``, written by every process from its event table). Any
process running a consumer delivers: ``Outbox.deliver_pending`` claims what is due for its
consumers (a lease: a claim of a process that died runs out and another takes it), runs the
handler, and marks the delivery done. Handlers are therefore run at least once, and must be
idempotent: the claims that keep announcements single, ``claim_effect`` for a post that must
not repeat, or ``Consumer.repeat=False`` (a DM: never run again once a run began).

Events are frozen dataclasses; ``encode``/``decode`` turn them into JSON and back by their
field types (datetimes, nested dataclasses, optionals, mappings).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import secrets
import socket
import types
import typing
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.kernel.clock import Clock
from core.kernel.errors import StorageUnavailable
from core.kernel.timefmt import to_db
from core.store.base import Database, SyncTransaction, Transaction
from core.store.group_commit import GroupCommit

log = logging.getLogger(__name__)

CHANNEL = "outbox"
"""What ``record`` notifies: ``db.signal(CHANNEL)`` wakes this process's dispatcher at commit."""

POLL = 0.25  # seconds between looks for what other processes recorded (SQLite has no NOTIFY)
LEASE = timedelta(minutes=2)
BATCH = 50
IN_FLIGHT = 32  # handlers running at once per process
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=2)  # doubles per failed attempt
RETENTION = timedelta(days=1)

Handler = Callable[[Any], Awaitable[None]]


# -- recording -------------------------------------------------------------------------------


@typing.overload
def record(
    tx: Transaction, *events: object, at: datetime, guild_id: int | None = None
) -> Coroutine[Any, Any, None]: ...
@typing.overload
def record(
    tx: SyncTransaction, *events: object, at: datetime, guild_id: int | None = None
) -> None: ...
def record(
    tx: Transaction | SyncTransaction,
    *events: object,
    at: datetime,
    guild_id: int | None = None,
) -> Coroutine[Any, Any, None] | None:
    """Write `events` in `tx` (one statement per 500). Await it with a `Transaction`; with a
    `SyncTransaction` (on the database's thread) it is done when it returns."""
    statements = _inserts(events, at, guild_id)
    if events:
        tx.notify(CHANNEL)
    if isinstance(tx, SyncTransaction):
        for sql, values in statements:
            tx.execute(sql, values)
        return None
    return _execute_all(tx, statements)


_EVENTS_PER_STATEMENT = 500  # 4 parameters each, far under SQLite's variable limit


def _inserts(
    events: Sequence[object], at: datetime, guild_id: int | None
) -> list[tuple[str, list[Any]]]:
    statements: list[tuple[str, list[Any]]] = []
    memo: dict[int, Any] = {}  # the events are alive meanwhile, so their ids stay theirs
    created_at = to_db(at)
    for start in range(0, len(events), _EVENTS_PER_STATEMENT):
        chunk = events[start : start + _EVENTS_PER_STATEMENT]
        values: list[Any] = []
        for event in chunk:
            values += [type(event).__name__, json.dumps(encode(event, memo)), guild_id, created_at]
        rows = ", ".join(["(?, ?, ?, ?)"] * len(chunk))
        statements.append(
            (
                f"INSERT INTO outbox_events (type, payload, guild_id, created_at) VALUES {rows}",  # noqa: S608 - placeholders only
                values,
            )
        )
    return statements


async def _execute_all(tx: Transaction, statements: list[tuple[str, list[Any]]]) -> None:
    for sql, values in statements:
        await tx.execute(sql, values)


async def claim_effect(db: Database, key: str, *, at: datetime) -> bool:
    """True once per `key`, ever (until pruned): for an effect a redelivery must not repeat."""
    async with db.transaction() as tx:
        return (
            await tx.execute(
                "INSERT INTO outbox_effects (key, claimed_at) VALUES (?, ?)"
                " ON CONFLICT (key) DO NOTHING",
                (key, to_db(at)),
            )
            == 1
        )


async def release_effect(db: Database, key: str) -> None:
    """Give a claim back (the effect failed in a way worth trying again)."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM outbox_effects WHERE key = ?", (key,))


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# -- JSON ------------------------------------------------------------------------------------


_PLAIN = (str, int, float, bool, type(None))


def encode(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A dataclass (or what its fields hold) as JSON-ready values. `memo` (id → encoded) shares
    the work for objects many events hold (the stream of a batch of chat messages)."""
    if isinstance(value, _PLAIN):
        return value
    names = _field_names(type(value))
    if names is not None:
        if memo is not None and (done := memo.get(id(value))) is not None:
            return done
        encoded = {
            name: item if isinstance(item := getattr(value, name), _PLAIN) else encode(item, memo)
            for name in names
        }
        if memo is not None:
            memo[id(value)] = encoded
        return encoded
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): encode(item, memo) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item, memo) for item in value]
    raise TypeError(f"can't put a {type(value).__name__} in an outbox event")


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    """A dataclass's init fields, None for other types (cached: chat records an event per
    message)."""
    try:
        return _FIELD_NAMES[kind]
    except KeyError:
        names = (
            tuple(field.name for field in _fields(kind)) if dataclasses.is_dataclass(kind) else None
        )
        _FIELD_NAMES[kind] = names
        return names


def decode(kind: type[Any], data: Any) -> Any:
    """The inverse of `encode`, led by `kind`'s field types."""
    return _decode(kind, data)


def _fields(kind: type[Any]) -> tuple[dataclasses.Field[Any], ...]:
    return tuple(field for field in dataclasses.fields(kind) if field.init)


_HINTS: dict[type, dict[str, Any]] = {}


def _decode(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if data is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None):
                return _decode(option, data)
    if origin is typing.Literal:
        return data
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = _HINTS.get(hint) or _HINTS.setdefault(hint, typing.get_type_hints(hint))
        return hint(**{f.name: _decode(hints[f.name], data[f.name]) for f in _fields(hint)})
    if hint is datetime:
        return datetime.fromisoformat(data)
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        return dict(data)
    if origin in (list, Sequence) or hint is list:
        (item,) = typing.get_args(hint) or (Any,)
        return [_decode(item, each) for each in data]
    if origin is tuple:
        args = typing.get_args(hint)
        return tuple(_decode(args[0], each) for each in data)
    if hint is float and isinstance(data, int):
        return float(data)
    return data


# -- delivering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consumer:
    """One durable row of the event table: `handler(event)` for each `event_type` recorded.

    `repeat`: the handler may run again for the same event (it claims what it does itself).
    False for effects nobody can look up afterwards (a DM): a delivery whose earlier run was
    cut short (the process died) is then given up rather than repeated.
    """

    name: str
    event_type: type
    handler: Handler
    repeat: bool = True


@dataclass(frozen=True)
class Shards:
    """The Discord shards a process runs: it takes only events of their guilds (and those of
    no guild). Discord's rule: a guild is on shard (guild_id >> 22) % count."""

    count: int
    ids: frozenset[int]


@dataclass(frozen=True)
class _Claimed:
    event_id: int
    consumer: Consumer
    payload: str
    attempts: int


class Outbox:
    """This process's consumers of recorded events, and the passes that deliver to them."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]] | None = None,
        lease: timedelta = LEASE,
        in_flight: int = IN_FLIGHT,
        max_attempts: int = MAX_ATTEMPTS,
        shards: Shards | None = None,
    ) -> None:
        self._db = db
        self.shards = shards
        """None: every guild's events (one bot process, or no bot)."""
        self._clock = clock
        # The event bus's spawn: its drain (tests, shutdown) then waits for deliveries too.
        self._spawn = spawn or asyncio.create_task
        self._lease = lease
        self._max_attempts = max_attempts
        self._slots = asyncio.Semaphore(in_flight)
        self._in_flight = in_flight
        self._groups: dict[str, tuple[Consumer, ...]] = {}
        self._consumers: dict[tuple[str, str], Consumer] = {}
        self._unregistered: set[tuple[str, str]] = set()
        self._stopped = False
        self._running: set[asyncio.Task[None]] = set()
        self._pass: asyncio.Task[None] | None = None
        self._again = False
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        """Who holds a claim (host, pid, and a token for each Outbox): read by operators."""
        self._done_marks: GroupCommit[tuple[int, str, str | None], None] = GroupCommit(
            self._write_marks, what="outbox deliveries"
        )

    # -- wiring

    def wire(self, group: str, consumers: Iterable[Consumer]) -> None:
        """Take (or replace) a group of consumers ("room", "discord"): their events are
        delivered here from now on."""
        self._groups[group] = tuple(consumers)
        self._unregistered |= {(c.event_type.__name__, c.name) for c in self._groups[group]}
        self._reroute()
        if self._unregistered and _loop_running():
            self.kick()  # registers the routes at once (a pass does that first)

    def _reroute(self) -> None:
        self._consumers = {
            (c.event_type.__name__, c.name): c for rows in self._groups.values() for c in rows
        }

    def unwire(self, group: str) -> None:
        self._groups.pop(group, None)
        self._reroute()

    def consumers(self) -> list[Consumer]:
        return list(self._consumers.values())

    async def register_routes(self) -> None:
        """Subscribe the wired consumers durably (`add_routes`), those not done yet."""
        if not self._unregistered:
            return
        routes, self._unregistered = sorted(self._unregistered), set()
        try:
            await self._insert_routes(routes)
        except BaseException:
            self._unregistered.update(routes)
            raise

    async def add_routes(self, routes: Iterable[tuple[type, str]]) -> None:
        """Subscribe durably: events of each type recorded from now on wait for the consumer,
        whether or not a process runs it now (routes stay when it stops). Only adds: a
        process of another version may still use a route this one lacks."""
        await self._insert_routes([(event_type.__name__, name) for event_type, name in routes])

    async def _insert_routes(self, routes: list[tuple[str, str]]) -> None:
        async with self._db.transaction() as tx:
            for event_type, consumer in routes:
                await tx.execute(
                    "INSERT INTO outbox_routes (event_type, consumer) VALUES (?, ?)"
                    " ON CONFLICT (event_type, consumer) DO NOTHING",
                    (event_type, consumer),
                )

    # -- delivering

    def kick(self) -> None:
        """Deliver what is due now, in a pass of its own: one at a time, and a kick during a
        pass makes it look once more (so nothing recorded meanwhile waits for the poll)."""
        if self._pass is not None and not self._pass.done():
            self._again = True
            return
        self._pass = self._spawn(self._passes())

    async def _passes(self) -> None:
        try:
            while True:
                self._again = False
                if not await self.deliver_pending() and not self._again:
                    return
        except StorageUnavailable as error:
            log.warning("outbox: could not claim deliveries now: %s", error.message)
        except Exception:
            log.exception("outbox: a delivery pass failed")

    async def kick_on(self, event: object) -> None:
        """An event-bus handler: a recorded event was published in this process."""
        self.kick()

    async def deliver_pending(self) -> int:
        """Claim what is due for this process's consumers and start their handlers (in event
        order). Returns how many were claimed."""
        if self._stopped:
            return 0
        await self.register_routes()
        free = self._free_slots()
        if not self._consumers or free == 0:
            return 0
        now = self._clock.now()
        names = sorted({consumer.name for consumer in self._consumers.values()})
        marks = ", ".join("?" * len(names))
        guilds, guild_params = self._guild_filter()
        rows = await self._db.fetch_all(
            "SELECT d.event_id, d.consumer, d.attempts, d.claimed_by, e.type, e.payload"  # noqa: S608 - placeholders only
            " FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id"
            f" WHERE d.consumer IN ({marks}) AND d.done_at IS NULL"
            f" AND (d.available_at IS NULL OR d.available_at <= ?){guilds}"
            " ORDER BY d.event_id LIMIT ?",
            (*names, to_db(now), *guild_params, min(free, BATCH)),
        )
        if not rows:
            return 0
        claimed: list[_Claimed] = []
        given_up: list[tuple[int, str, str]] = []
        until = to_db(now + self._lease)
        async with self._db.transaction() as tx:
            for row in rows:
                changed = await tx.execute(
                    "UPDATE outbox_deliveries SET claimed_by = ?, available_at = ?,"
                    " attempts = attempts + 1 WHERE event_id = ? AND consumer = ?"
                    " AND done_at IS NULL AND (available_at IS NULL OR available_at <= ?)",
                    (self.owner, until, row["event_id"], row["consumer"], to_db(now)),
                )
                if not changed:
                    continue  # another process took it first
                consumer = self._consumers.get((row["type"], row["consumer"]))
                if consumer is None:
                    given_up.append((row["event_id"], row["consumer"], "unknown event type"))
                elif not consumer.repeat and row["claimed_by"] is not None:
                    # A run began before and its process stopped: maybe done, never twice.
                    given_up.append((row["event_id"], row["consumer"], "cut short, not repeated"))
                else:
                    claimed.append(
                        _Claimed(row["event_id"], consumer, row["payload"], row["attempts"] + 1)
                    )
        for event_id, consumer_name, why in given_up:
            log.warning("outbox: gave up event %d for %s: %s", event_id, consumer_name, why)
            await self._done_marks.submit((event_id, consumer_name, why))
        for delivery in claimed:
            await self._slots.acquire()
            task = self._spawn(self._deliver(delivery))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return len(rows)

    async def drain(self) -> None:
        """Until nothing due is left for this process and every handler has finished."""
        while True:
            while self._pass is not None and not self._pass.done():
                await asyncio.shield(self._pass)
            claimed = await self.deliver_pending()
            while self._running:
                await asyncio.gather(*list(self._running), return_exceptions=True)
            await self._done_marks.flush()
            if not claimed:
                return

    async def run(self, poll: float = POLL) -> None:
        """Deliver until cancelled: at once after this process's commits (`db.signal`), and
        every `poll` seconds for what other processes recorded (on SQLite; PostgreSQL's
        LISTEN/NOTIFY sets the signal across processes)."""
        signal = self._db.signal(CHANNEL)
        while True:
            signal.clear()
            try:
                if await self.deliver_pending():
                    continue
            except StorageUnavailable as error:
                log.warning("outbox: could not claim deliveries now: %s", error.message)
            except Exception:
                log.exception("outbox: a delivery pass failed")
            try:
                async with asyncio.timeout(poll):
                    await signal.wait()
            except TimeoutError:
                pass

    def stop(self) -> None:
        """Claim nothing more (shutdown: the consumers are about to close)."""
        self._stopped = True

    async def aclose(self, grace: float = 5.0) -> None:
        """Let handlers in flight finish within `grace` (a cancelled one is delivered again
        later, by this process or another), then write the marks."""
        self.stop()
        try:
            async with asyncio.timeout(grace):
                while self._running:
                    await asyncio.gather(*list(self._running), return_exceptions=True)
        except TimeoutError:
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(*list(self._running), return_exceptions=True)
        await self._done_marks.flush()

    async def prune(self) -> int:
        """Forget events older than the retention (a scheduler job); returns how many."""
        cutoff = to_db(self._clock.now() - RETENTION)
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM outbox_effects WHERE claimed_at < ?", (cutoff,))
            return await tx.execute("DELETE FROM outbox_events WHERE created_at < ?", (cutoff,))

    def _guild_filter(self) -> tuple[str, tuple[int, ...]]:
        if self.shards is None:
            return "", ()
        ids = sorted(self.shards.ids)
        marks = ", ".join("?" * len(ids))
        # guild_id / 2**22 is guild_id >> 22 for ids (positive), in both SQL dialects.
        return (
            f" AND (e.guild_id IS NULL OR (e.guild_id / 4194304) % ? IN ({marks}))",
            (self.shards.count, *ids),
        )

    def _free_slots(self) -> int:
        return self._in_flight - len(self._running)

    async def _deliver(self, delivery: _Claimed) -> None:
        consumer = delivery.consumer
        try:
            try:
                event = decode(consumer.event_type, json.loads(delivery.payload))
            except (ValueError, TypeError, KeyError) as error:
                log.warning(
                    "outbox: event %d for %s can't be read (%s); given up",
                    delivery.event_id,
                    consumer.name,
                    error,
                )
                await self._done_marks.submit(
                    (delivery.event_id, consumer.name, f"unreadable: {error}")
                )
                return
            try:
                await consumer.handler(event)
            except Exception as error:
                await self._failed(delivery, error)
                return
            await self._done_marks.submit((delivery.event_id, consumer.name, None))
        except StorageUnavailable as error:
            # The mark could not be written: the lease runs out and it is delivered again.
            log.warning("outbox: could not mark event %d done: %s", delivery.event_id, error)
        finally:
            self._slots.release()

    async def _failed(self, delivery: _Claimed, error: Exception) -> None:
        consumer = delivery.consumer
        if delivery.attempts >= self._max_attempts or not consumer.repeat:
            log.error(
                "%s failed for %s (event %d); given up after %d attempt(s)",
                consumer.name,
                consumer.event_type.__name__,
                delivery.event_id,
                delivery.attempts,
                exc_info=error,
            )
            await self._done_marks.submit(
                (delivery.event_id, consumer.name, f"failed: {type(error).__name__}")
            )
            return
        retry = FIRST_RETRY * 2 ** (delivery.attempts - 1)
        log.warning(
            "%s failed for %s (event %d, attempt %d): %s; trying again in %s",
            consumer.name,
            consumer.event_type.__name__,
            delivery.event_id,
            delivery.attempts,
            error,
            retry,
            exc_info=error,
        )
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox_deliveries SET available_at = ?, claimed_by = NULL, error = ?"
                " WHERE event_id = ? AND consumer = ? AND claimed_by = ?",
                (
                    to_db(self._clock.now() + retry),
                    f"{type(error).__name__}: {error}"[:200],
                    delivery.event_id,
                    consumer.name,
                    self.owner,
                ),
            )

    async def _write_marks(self, marks: list[tuple[int, str, str | None]]) -> list[None]:
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            for event_id, consumer, error in marks:
                await tx.execute(
                    "UPDATE outbox_deliveries SET done_at = ?, error = ?"
                    " WHERE event_id = ? AND consumer = ? AND done_at IS NULL",
                    (now, error, event_id, consumer),
                )
        return [None] * len(marks)

"""Domain events and the one bus that delivers them.

A capability publishes a plain record (a frozen dataclass) after its change is committed; it
never knows who listens. Who reacts to what is written in one table, golive/event_table.py, where
each row says whether the handler runs inside the publisher's call (only what must be consistent
with the answer) or in the background (Discord and LiveKit fan-out: nothing a request, a slash
command or a webhook waits for), or durably: written to the outbox in the publisher's
transaction and delivered at least once by the process that runs the handler (core/store/outbox.py;
effects outside this process: Discord, room packets).

A handler's failure is logged and never undoes the committed change nor stops other handlers.
Background handlers of one event start in table order, and events start in the order they were
published (asyncio runs new tasks first-in, first-out), so per-room queues keep their order.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[None]]


class Mode(enum.Enum):
    INLINE = "inline"
    BACKGROUND = "background"
    # Recorded in the publisher's transaction (core/store/outbox.py) and delivered at least
    # once by whichever process runs the handler: effects outside this process.
    DURABLE = "durable"


@dataclass(frozen=True)
class Subscription:
    """One row of the event table: `handler(event)` for every published `event_type`."""

    event_type: type
    handler: Handler
    mode: Mode
    repeat: bool = True
    """DURABLE only: the handler may run twice for one event (it claims its own effects)."""

    @property
    def name(self) -> str:
        """Also the durable consumer's name in the outbox: keep it when moving a handler."""
        return getattr(self.handler, "__qualname__", repr(self.handler))


def inline(event_type: type, handler: Handler) -> Subscription:
    return Subscription(event_type, handler, Mode.INLINE)


def background(event_type: type, handler: Handler) -> Subscription:
    return Subscription(event_type, handler, Mode.BACKGROUND)


def durable(event_type: type, handler: Handler, *, repeat: bool = True) -> Subscription:
    """`repeat=False`: an effect nobody can look up afterwards (a DM) is never run twice; a run
    cut short by a dying process is then given up instead."""
    return Subscription(event_type, handler, Mode.DURABLE, repeat)


class HandlerObserver(Protocol):
    """Told of every handler run (metrics); must be cheap and must not raise."""

    def handled(self, row: Subscription, event: object, ok: bool, seconds: float) -> None: ...


class EventBus:
    def __init__(self, observer: HandlerObserver | None = None) -> None:
        self._groups: dict[str, tuple[Subscription, ...]] = {}
        self._routes: dict[type, tuple[Subscription, ...]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._observer = observer
        self.on_durable: Callable[[object], None] | None = None
        """Told of each published event that has DURABLE rows (the outbox delivers it now)."""

    def wire(self, group: str, table: Iterable[Subscription]) -> None:
        """Install (or replace) a named group of rows, e.g. "domain" or "discord". DURABLE rows
        are listed but not run here: the outbox delivers them (golive/bootstrap.py wires it).

        Replacing is what a restarted bot does: the new bot's handlers take the old one's place.
        """
        self._groups[group] = tuple(table)
        self._reroute()

    def unwire(self, group: str) -> None:
        self._groups.pop(group, None)
        self._reroute()

    def subscriptions(self) -> list[Subscription]:
        """Every row, in the order handlers run (what docs and `golive events` show)."""
        return [row for rows in self._groups.values() for row in rows]

    async def publish(self, event: object) -> None:
        """Run the inline handlers, then start the background ones, and return."""
        durable_rows = False
        for row in self._routes.get(type(event), ()):
            if row.mode is Mode.INLINE:
                await _run(row, event, self._observer)
            elif row.mode is Mode.BACKGROUND:
                self.spawn(_run(row, event, self._observer), name=f"event {row.name}")
            else:
                durable_rows = True
        if durable_rows and self.on_durable is not None:
            self.on_durable(event)

    def observed(self, row: Subscription) -> Handler:
        """`row`'s handler, told to the observer like the bus's own runs; its errors still
        reach the caller (the outbox retries on them)."""
        observer = self._observer
        if observer is None:
            return row.handler

        async def run(event: object) -> None:
            started = time.perf_counter()
            ok = False
            try:
                await row.handler(event)
                ok = True
            finally:
                observer.handled(row, event, ok, time.perf_counter() - started)

        return run

    def spawn(self, work: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
        """Start background work that `drain` and `aclose` wait for, like a handler's."""
        task = asyncio.create_task(work, name=name)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def drain(self) -> None:
        """Wait until every background handler (and what those published) has finished."""
        while self._running:
            await asyncio.gather(*list(self._running))

    async def aclose(self, grace: float = 5.0) -> None:
        """At shutdown: give background work `grace` seconds, then cancel what is left."""
        try:
            async with asyncio.timeout(grace):
                await self.drain()
        except TimeoutError:
            log.warning("cancelling %d background event handler(s) at shutdown", len(self._running))
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(*list(self._running), return_exceptions=True)

    def _reroute(self) -> None:
        routes: dict[type, list[Subscription]] = {}
        for row in self.subscriptions():
            routes.setdefault(row.event_type, []).append(row)
        self._routes = {event_type: tuple(rows) for event_type, rows in routes.items()}


async def _run(row: Subscription, event: object, observer: HandlerObserver | None) -> None:
    started = time.perf_counter()
    ok = False
    try:
        await row.handler(event)
        ok = True
    except Exception:
        # The change is committed; a failing reaction (Discord down, say) is retried by its own
        # catch-up job, never by undoing what the member did.
        log.exception("%s failed for %s", row.name, type(event).__name__)
    finally:
        if observer is not None:
            observer.handled(row, event, ok, time.perf_counter() - started)

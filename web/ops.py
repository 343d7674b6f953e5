"""Probes for operators and orchestrators: GET /healthz (alive) and GET /readyz (can serve).

/healthz answers at once without touching anything: a process whose loop answers is alive.
/readyz asks each part the process depends on (the store is writable, LiveKit answers, and in
a process with a bot, the Discord gateway is connected) and answers 503 until all of them are
fine, with each part's state in words. Its answer is kept for `READY_CACHE`, so a crowd of
probes costs LiveKit one call per few seconds, and no probe waits more than `PROBE_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from core.kernel.errors import LiveKitUnavailable
from core.services import Services

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

PROBE_TIMEOUT = 2.0  # seconds a part may take to answer before it counts as not ready
READY_CACHE = timedelta(seconds=2)


@dataclass(frozen=True)
class PartState:
    ok: bool
    detail: str  # for the operator: what was seen, or what is wrong


ReadinessCheck = Callable[[], Awaitable[PartState]]


class Readiness:
    """The parts /readyz asks, by name. A process with a bot adds "discord" (golive/runtime.py)."""

    def __init__(self, services: Services) -> None:
        self._clock = services.clock
        self._checks: dict[str, ReadinessCheck] = {
            "store": lambda: _store(services),
            "livekit": lambda: _livekit(services),
        }
        self._last: tuple[datetime, dict[str, PartState]] | None = None
        self._asking: asyncio.Task[dict[str, PartState]] | None = None

    def add(self, name: str, check: ReadinessCheck) -> None:
        self._checks[name] = check
        self._last = None

    async def states(self) -> dict[str, PartState]:
        now = self._clock.now()
        if self._last is not None and now - self._last[0] < READY_CACHE:
            return self._last[1]
        # Probes that arrive while the parts are being asked share that one round.
        if self._asking is None:
            self._asking = asyncio.create_task(self._ask_all())
        asking = self._asking
        try:
            states = await asyncio.shield(asking)
        finally:
            if self._asking is asking and asking.done():
                self._asking = None
        self._last = (now, states)
        return states

    async def _ask_all(self) -> dict[str, PartState]:
        names = list(self._checks)
        answers = await asyncio.gather(*(_ask(self._checks[name]) for name in names))
        return dict(zip(names, answers, strict=True))


READINESS = web.AppKey("readiness", Readiness)


async def _ask(check: ReadinessCheck) -> PartState:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            return await check()
    except TimeoutError:
        return PartState(False, f"no answer within {PROBE_TIMEOUT:g} s")


async def _store(services: Services) -> PartState:
    try:
        await services.db.check_writable()
    except sqlite3.Error as error:
        log.warning("readiness: the database can't be written: %s", error)
        return PartState(False, f"can't write the database: {error}")
    return PartState(True, "writable")


async def _livekit(services: Services) -> PartState:
    try:
        rooms = await services.livekit.list_room_names()
    except LiveKitUnavailable as error:
        return PartState(False, error.message)
    return PartState(True, f"reachable, {len(rooms)} room(s) open")


@routes.get("/healthz", name="healthz")
async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz", name="readyz")
async def readyz(request: web.Request) -> web.Response:
    states = await request.app[READINESS].states()
    ready = all(state.ok for state in states.values())
    return web.json_response(
        {
            "status": "ready" if ready else "not ready",
            "parts": {
                name: {"ok": state.ok, "detail": state.detail} for name, state in states.items()
            },
        },
        status=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )

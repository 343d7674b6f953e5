"""What operators see of the web sidecar: the request context middleware (request ids, the
access log) and the probes GET /healthz (alive) and GET /readyz (can serve).

Every request gets an id: the X-Request-Id it came with when that looks like an id (a proxy's),
else a new one. It is echoed in the response's X-Request-Id, written on the request's access log
line, and tags every log line of the work the request caused (golive/logs.py reads it).

/healthz answers at once without touching anything: a process whose loop answers is alive.
/readyz asks each part the process depends on (the store is writable, LiveKit answers, and in
a process with a bot, the Discord gateway is connected) and answers 503 until all of them are
fine, with each part's state in words. Its answer is kept for `READY_CACHE`, so a crowd of
probes costs LiveKit one call per few seconds, and no probe waits more than `PROBE_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from core.kernel.errors import LiveKitUnavailable
from core.services import Services
from web.keys import SERVICES
from web.metrics import METRICS

log = logging.getLogger(__name__)
access_log = logging.getLogger("golive.access")

routes = web.RouteTableDef()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID_HEADER = "X-Request-Id"
# What we accept from a client or proxy: short, printable, nothing that could forge a log line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Path parameters that are credentials (one-time login links): never written to the log.
_SECRET_PARAMETERS = ("token",)

_request_id: ContextVar[str | None] = ContextVar("golive_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the web request whose work is running, or None outside requests."""
    return _request_id.get()


# A new id is this process's random prefix and a counter: unique across processes and replicas,
# and far cheaper per request than a uuid4 (an os.urandom call each).
_PROCESS_PREFIX = uuid.uuid4().hex[:12]
_request_numbers = itertools.count(1)


def request_id_for(request: web.Request) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    if offered and _SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return f"{_PROCESS_PREFIX}-{next(_request_numbers):x}"


@web.middleware
async def request_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware: the request id, then one access log line with the final status."""
    request_id = request_id_for(request)
    token = _request_id.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
    except web.HTTPException as error:  # redirects and the like, raised
        status = error.status
        error.headers[REQUEST_ID_HEADER] = request_id
        raise
    else:
        status = response.status
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
    finally:
        seconds = time.perf_counter() - started
        _log_access(request, status, seconds)
        if (metrics := request.app.get(METRICS)) is not None:
            metrics.answered(route_of(request), request.method, status, seconds)
        _request_id.reset(token)


def _log_access(request: web.Request, status: int, seconds: float) -> None:
    path = logged_path(request)
    duration_ms = round(seconds * 1000, 1)
    access_log.info(
        "%s %s %d %.1f ms",
        request.method,
        path,
        status,
        duration_ms,
        extra={
            "method": request.method,
            "path": path,
            "route": route_of(request),
            "status": status,
            "duration_ms": duration_ms,
            "remote": request.remote,
        },
    )


def logged_path(request: web.Request) -> str:
    """The path without credentials in it (a login link's token becomes "…")."""
    path = request.path
    for name in _SECRET_PARAMETERS:
        value = request.match_info.get(name)
        if value:
            path = path.replace(value, "…")
    return path


def route_of(request: web.Request) -> str:
    """The route's pattern ("/live/{slug}"), a bounded label for metrics; "unmatched" for 404s."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


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
    if not await services.db.check_writable():
        return PartState(False, f"can't write the database ({services.db.write_problem})")
    return PartState(True, "writable")


async def _livekit(services: Services) -> PartState:
    try:
        rooms = await services.livekit.list_room_names()
    except LiveKitUnavailable as error:
        return PartState(False, error.message)
    return PartState(True, f"reachable, {len(rooms)} room(s) open")


@routes.get("/healthz", name="healthz")
async def healthz(request: web.Request) -> web.Response:
    """Alive, at once, without touching the database; 503 while the last write could not be
    done (write lock held elsewhere, disk full), until a background recheck sees one succeed."""
    db = request.app[SERVICES].db
    if db.write_problem is not None:
        db.recheck_writable()  # so this answer turns 200 again by itself once writes work
        return web.json_response(
            {"status": "degraded", "storage": f"not writable ({db.write_problem})"}, status=503
        )
    return web.json_response({"status": "ok", "storage": "writable"})


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

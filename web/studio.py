"""The studio's API: end a stream and read a session's summary (the streamer's own, only).

`POST /api/live/<slug>/end` ends the live stream and answers with its summary, so the studio
shows the numbers the moment the streamer ends; `GET /api/live/<slug>/sessions/<id>/summary`
answers for any of the stream's sessions, ended or live (its numbers so far; `current` names the
live one, which is how the studio learns its id). The numbers are
the Discord end-of-stream summary's (core.community.session_summary).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.accounts import Identity
from core.community import SessionSummary, session_summary
from core.kernel.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from core.services import Services
from core.streams import Stream, StreamSession
from web.api import SIGN_IN_FIRST
from web.keys import SERVICES, identity_of
from web.serialize import iso, stream_json

routes = web.RouteTableDef()

SQLITE_INTEGER_MAX = 2**63 - 1
NO_SUCH_SESSION = "That stream session does not exist."
CURRENT = "current"  # the path's name for the live session


@routes.post("/api/live/{slug}/end", name="api_end")
async def end(request: web.Request) -> web.Response:
    """Body: none (or `{}`). Answers `{"stream": …, "summary": …}`; 409 when it isn't live."""
    services = request.app[SERVICES]
    stream = await _own_stream(request, services)
    if not stream.active:
        raise Conflict("This stream is not live right now.")
    event = await services.streams.end_stream(stream, reason="owner")
    summary = await _summary(services, event.session)
    return web.json_response(
        {"stream": stream_json(event.stream), "summary": summary_json(summary)}
    )


@routes.get("/api/live/{slug}/sessions/{session_id}/summary", name="api_session_summary")
async def summary(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    stream = await _own_stream(request, services)
    session = await _session(services, stream, request.match_info["session_id"])
    return web.json_response(summary_json(await _summary(services, session)))


def summary_json(summary: SessionSummary) -> dict[str, Any]:
    session = summary.session
    return {
        "sessionId": session.id,
        "live": summary.live,
        "startedAt": iso(session.started_at),
        "endedAt": iso(session.ended_at),
        "durationSeconds": summary.duration_seconds,
        "peakViewers": summary.audience.peak_viewers,
        "uniqueViewers": summary.audience.unique_viewers,
        "tips": summary.tips,
        "tipCredits": summary.tip_credits,
    }


async def _summary(services: Services, session: StreamSession) -> SessionSummary:
    return await session_summary(session, services.live, services.stats, services.clock.now())


async def _own_stream(request: web.Request, services: Services) -> Stream:
    """The stream of the path, when the signed-in member owns it (401 / 403 / 404 otherwise)."""
    identity: Identity | None = identity_of(request)
    if identity is None:
        raise NotAuthenticated(SIGN_IN_FIRST)
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    if identity.user_id != stream.owner_id:
        raise Forbidden("Only the streamer can see and end their own sessions.")
    return stream


async def _session(services: Services, stream: Stream, key: str) -> StreamSession:
    """`current` (the live session) or a session id of this stream."""
    if key == CURRENT:
        current = await services.streams.current_session(stream.id)
        if current is None:
            raise NotFound("This stream is not live right now.")
        return current
    if not key.isascii() or not key.isdigit():
        raise InvalidInput("That is not a session id: give a number, or 'current'.")
    session_id = int(key)
    # An id no row can have (SQLite integers are 64-bit) is simply not there.
    if not 0 < session_id <= SQLITE_INTEGER_MAX:
        raise NotFound(NO_SUCH_SESSION)
    try:
        session = await services.streams.get_session(session_id)
    except NotFound:
        raise NotFound(NO_SUCH_SESSION) from None
    if session.stream_id != stream.id:
        # Said as for a missing one: other streams' sessions are none of this owner's business.
        raise NotFound(NO_SUCH_SESSION)
    return session

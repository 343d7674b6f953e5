"""Past streams (VODs): a recording's page with its chat replayed beside the video, the file
itself (with Range requests, so the player can seek), the replay as JSON, and deleting one."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from core.chat import message_json
from core.kernel import i18n
from core.kernel.errors import InvalidInput, NotAuthenticated, NotFound
from core.live import Recording
from core.services import Services
from core.streams import Stream
from web.chat import SQLITE_INTEGER_MAX
from web.i18n import chosen_locale
from web.keys import CSP, SERVICES, identity_of
from web.pages import render

routes = web.RouteTableDef()

SIGN_IN_TO_DELETE = i18n.N_("Sign in to delete a recording: use /stream studio in Discord.")
NO_SUCH_RECORDING = i18n.N_("That recording does not exist (it may have been deleted).")
# Messages per page of the chat replay (the page asks for the next one until there is none).
REPLAY_PAGE = 500


async def _vod_of(request: web.Request) -> tuple[Services, Stream, Recording]:
    """The stream of the path's slug and its finished recording of the path's id."""
    services = request.app[SERVICES]
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    vod_id = _number(request.match_info["vod_id"])
    if vod_id is None:
        raise NotFound(NO_SUCH_RECORDING)
    return services, stream, await services.recording.get_vod(vod_id, stream.id)


def _number(text: str) -> int | None:
    """An id in a path or a query; one no SQLite row can have is None."""
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= SQLITE_INTEGER_MAX else None


async def _may_delete(request: web.Request, services: Services, vod: Recording) -> bool:
    identity = identity_of(request)
    if identity is None:
        return False
    return identity.user_id == vod.owner_id or await services.moderation.is_moderator(
        identity.user_id
    )


def _video_url(
    request: web.Request, services: Services, stream: Stream, vod: Recording
) -> str | None:
    """Where the page's player reads the file: golive itself when it reaches the file (seekable
    through Range requests), else the public link (recording.public_url or the S3 upload)."""
    path = services.recording.local_file(vod)
    if path is not None and path.is_file():
        return str(request.app.router["vod_video"].url_for(slug=stream.slug, vod_id=str(vod.id)))
    return vod.link


@routes.get(r"/live/{slug}/vods/{vod_id}", name="vod")
async def vod_page(request: web.Request) -> web.StreamResponse:
    services, stream, vod = await _vod_of(request)
    locale = chosen_locale(request)
    video_url = _video_url(request, services, stream, vod)
    can_delete = await _may_delete(request, services, vod)
    base = f"/api/live/{stream.slug}/vods/{vod.id}"
    response = render(
        request,
        "vod.html",
        {
            "stream": stream,
            "vod": vod,
            "duration_text": i18n.duration_in(locale, vod.duration_seconds or 0),
            "video_url": video_url,
            "can_delete": can_delete,
            "page_data": {
                "slug": stream.slug,
                "chatUrl": f"{base}/chat",
                "deleteUrl": base if can_delete else None,
                "profileUrl": f"/live/{stream.slug}",
            },
        },
    )
    origin = _origin(video_url)
    if origin is not None:
        # The file is served elsewhere: this page alone may play media from there.
        response.headers["Content-Security-Policy"] = request.app[CSP].replace(
            "media-src 'self'", f"media-src 'self' {origin}", 1
        )
    return response


def _origin(url: str | None) -> str | None:
    if url is None or not url.startswith(("https://", "http://")):
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@routes.get(r"/live/{slug}/vods/{vod_id}/video", name="vod_video")
async def vod_video(request: web.Request) -> web.StreamResponse:
    """The recording's file, from recording.local_dir; FileResponse answers Range requests."""
    services, _stream, vod = await _vod_of(request)
    path = services.recording.local_file(vod)
    if path is None or not path.is_file():
        raise NotFound("This recording's file is not on this server.")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=300"})


@routes.get(r"/api/live/{slug}/vods/{vod_id}/chat", name="api_vod_chat")
async def vod_chat(request: web.Request) -> web.Response:
    """The chat of the recorded session, each message with its moment in the file (`atMs`), in
    pages of REPLAY_PAGE: `next` is the `after` of the next page, null after the last one."""
    services, _stream, vod = await _vod_of(request)
    after_text = request.query.get("after", "0")
    after = 0 if after_text == "0" else _number(after_text)
    if after is None:
        raise InvalidInput("'after' must be the id of a message (a whole number).")
    messages = await services.chat.session_messages(
        vod.session_id, after_id=after, limit=REPLAY_PAGE
    )
    return web.json_response(
        {
            "recording": {
                "id": vod.id,
                "durationMs": (vod.duration_seconds or 0) * 1000,
            },
            "messages": [
                {**message_json(message), "atMs": vod.offset_ms(message.created_at)}
                for message in messages
            ],
            "next": messages[-1].id if len(messages) == REPLAY_PAGE else None,
        }
    )


@routes.delete(r"/api/live/{slug}/vods/{vod_id}", name="api_vod_delete")
async def vod_delete(request: web.Request) -> web.Response:
    """The stream's owner, or a moderator, deletes the recording (file and listing)."""
    identity = identity_of(request)
    if identity is None:
        raise NotAuthenticated(SIGN_IN_TO_DELETE)
    services, _stream, vod = await _vod_of(request)
    done = await services.recording.delete_vod(
        vod.id,
        by_user_id=identity.user_id,
        as_moderator=identity.user_id != vod.owner_id
        and await services.moderation.is_moderator(identity.user_id),
        stream_id=vod.stream_id,
    )
    return web.json_response({"deleted": done.recording.id, "fileRemoved": done.file_removed})

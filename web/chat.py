"""The chat API of the watch page: history for late joiners, posting, and a moderator's hide."""

from __future__ import annotations

from aiohttp import web

from core.chat import ChatAuthor, message_json
from core.kernel.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from core.kernel.i18n import N_
from web.body import json_object, text_field
from web.keys import SERVICES, identity_of

routes = web.RouteTableDef()

SIGN_IN_TO_CHAT = N_(
    "Sign in to chat: use the Watch button on the stream's announcement in Discord."
)


@routes.get("/api/live/{slug}/chat", name="api_chat_history")
async def history(request: web.Request) -> web.Response:
    """The last 50 visible messages, oldest first, and what this viewer may do."""
    services = request.app[SERVICES]
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    identity = identity_of(request)
    moderator = identity is not None and (
        identity.user_id == stream.owner_id
        or await services.moderation.is_moderator(identity.user_id)
    )
    rules = services.chat.rules
    return web.json_response(
        {
            "live": stream.active,
            "messages": [message_json(m) for m in await services.chat.history(stream)],
            "slowModeSeconds": await services.chat.slowmode(stream.id),
            "viewer": {
                "signedIn": identity is not None,
                "name": None if identity is None else identity.display_name,
                "canModerate": moderator,
                "guestsAllowed": rules.allow_guests,
                "maxLength": rules.max_length,
            },
        }
    )


@routes.post("/api/live/{slug}/chat", name="api_chat_post")
async def post(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    body = await json_object(request)
    text = text_field(body, "text")
    identity = identity_of(request)
    if identity is not None:
        author = ChatAuthor(identity.user_id, identity.display_name)
    elif services.chat.rules.allow_guests:
        name = text_field(body, "name", required=False).strip()
        if not name:
            raise InvalidInput("Choose a name to chat as a guest.")
        author = ChatAuthor(None, name)
    else:
        raise NotAuthenticated(SIGN_IN_TO_CHAT)
    ip = client_ip(request, services.settings.web.proxy_hops)
    message = await services.chat.post(stream, author, text, ip=ip)
    return web.json_response({"message": message_json(message)}, status=201)


def client_ip(request: web.Request, proxy_hops: int) -> str | None:
    """The viewer's address: the peer, or what our own `proxy_hops` proxies say it was.

    Only the entries our proxies appended are trusted; anything further left in
    X-Forwarded-For was written by the client and could be anything.
    """
    if proxy_hops == 0:
        return request.remote
    hops = [
        part.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for part in header.split(",")
    ]
    return hops[-proxy_hops] if len(hops) >= proxy_hops else request.remote


@routes.post("/api/live/{slug}/chat/{message_id:\\d+}/hide", name="api_chat_hide")
async def hide(request: web.Request) -> web.Response:
    """A moderator (or the streamer, on their own stream) hides a message everywhere."""
    services = request.app[SERVICES]
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    identity = identity_of(request)
    if identity is None:
        raise NotAuthenticated("Sign in as a moderator to hide messages.")
    if identity.user_id != stream.owner_id and not await services.moderation.is_moderator(
        identity.user_id
    ):
        raise Forbidden("Only moderators and the streamer can hide messages.")
    message_id = _message_id(request.match_info["message_id"])
    message = await services.chat.hide(message_id, moderator_id=identity.user_id, stream=stream)
    return web.json_response({"hidden": message.id})


SQLITE_INTEGER_MAX = 2**63 - 1


def _message_id(text: str) -> int:
    """The id in the path; one no row can have (SQLite integers are 64-bit) is simply not there."""
    try:
        message_id = int(text)
    except ValueError:
        raise InvalidInput("That is not a message id.") from None
    if not 0 < message_id <= SQLITE_INTEGER_MAX:
        raise NotFound("That chat message does not exist.")
    return message_id

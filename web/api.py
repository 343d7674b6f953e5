"""The JSON API kept from the system golive replaces (same paths, same shapes)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any, cast

from aiohttp import web

from core.accounts import Identity
from core.discovery import PlaceDirectory
from core.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    StorageUnavailable,
)
from core.kernel.i18n import N_
from core.livekit import Role, guest_identity, host_identity, viewer_identity
from core.services import Services
from core.streams import StreamDraft
from web.body import bool_field, json_object, optional_number, text_field
from web.chat import client_ip
from web.keys import SERVICES, identity_of
from web.serialize import stream_json
from web.thumbnails import thumbnail_url

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

_json_text: Callable[[str], str] = json.encoder.encode_basestring_ascii

SIGN_IN_FIRST = N_("Sign in first: use the link from `/stream studio` in Discord.")
# The same words StreamService.create refuses with (it checks again, inside its transaction).
ALREADY_HAVE_A_PAGE = N_("You already have a stream page. Change it with `/stream edit`.")


def _signed_in(request: web.Request) -> Identity:
    identity = identity_of(request)
    if identity is None:
        raise NotAuthenticated(SIGN_IN_FIRST)
    return identity


@routes.post("/api/live/token", name="api_token")
async def token(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_object(request)
    room_name = text_field(body, "roomName")
    role = text_field(body, "role", required=False, default="viewer")
    if role not in ("viewer", "broadcaster"):
        raise InvalidInput("'role' must be 'viewer' or 'broadcaster'.")
    stream = await services.streams.find_live_by_room_cached(room_name) if room_name else None
    if stream is None:
        raise NotFound("No live stream is using that room. The stream may have ended.")
    identity = identity_of(request)
    ip = client_ip(request, services.settings.web.proxy_hops)
    if role == "broadcaster":
        if identity is None:
            raise NotAuthenticated(SIGN_IN_FIRST)
        if identity.user_id != stream.owner_id:
            raise Forbidden("Only the streamer can broadcast in this room.")
        participant, name = host_identity(identity.user_id), identity.display_name
    elif identity is not None:
        # A kicked member gets no new token for a while (their open tabs were removed).
        await services.moderation.check_may_watch(identity.user_id)
        if ip is not None:
            await _remember_viewer_address(services, identity.user_id, ip)
        # A suffix per token: the same member in two tabs must not kick their other tab out.
        participant, name = (
            viewer_identity(identity.user_id, _random_hex(3)),
            identity.display_name,
        )
    else:
        # A kick covers the browser it came from, with or without the cookie (README: moderation).
        if ip is not None:
            await services.moderation.check_guest_may_watch(ip)
        participant, name = guest_identity(_random_hex(6)), "Guest"
    jwt = services.tokens.mint(
        room=room_name, identity=participant, name=name, role=cast(Role, role)
    )
    return web.Response(
        body=_token_answer(jwt, services.settings.livekit.public_url),
        content_type="application/json",
    )


class _RandomHex:
    """Random hex, like secrets.token_hex, from os.urandom read 4 KiB at a time.

    One urandom system call per token showed as ~2 % of the token endpoint's time under load.
    The suffixes only keep participant identities apart; they guard nothing.
    """

    def __init__(self, chunk: int = 4096) -> None:
        self._chunk = chunk
        self._buffer = b""
        self._offset = 0

    def __call__(self, nbytes: int) -> str:
        start, end = self._offset, self._offset + nbytes
        if end > len(self._buffer):
            self._buffer, start, end = os.urandom(max(self._chunk, nbytes)), 0, nbytes
        self._offset = end
        return self._buffer[start:end].hex()


_random_hex = _RandomHex()


async def _remember_viewer_address(services: Services, user_id: int, ip: str) -> None:
    """A note for kicks, not the answer: a viewer still gets a token when it can't be saved."""
    try:
        await services.moderation.remember_viewer_address(user_id, ip)
    except StorageUnavailable:
        log.warning("could not note a viewer's address (storage unavailable)")


def _token_answer(jwt: str, ws_url: str) -> bytes:
    """``{"token": …, "wsUrl": …}`` by hand: json_response took ~4 % of the server's time under load.

    A JWT is base64url segments and dots, so it needs no escaping; the URL is escaped.
    """
    return f'{{"token":"{jwt}","wsUrl":{_json_text(ws_url)}}}'.encode("ascii")


@routes.post("/api/live/create", name="api_create")
async def create(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    identity = _signed_in(request)
    # The cheap refusal first: placing coordinates in a city is work a 409 shouldn't pay for.
    if await services.streams.find_by_owner(identity.user_id) is not None:
        raise Conflict(ALREADY_HAVE_A_PAGE)
    body = await json_object(request)
    draft = await _draft(body, services.places)
    stream = await services.streams.create(
        owner_id=identity.user_id,
        username=identity.username,
        display_name=identity.display_name,
        draft=draft,
    )
    # The answer goes to the owner only: it carries their OBS stream key.
    key = await services.ingress.stream_key(identity.user_id, identity.display_name)
    return web.json_response(_created_shape(stream_json(stream), key), status=201)


@routes.post("/api/live/toggle-active", name="api_toggle_active")
async def toggle_active(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    identity = _signed_in(request)
    body = await json_object(request)
    active = bool_field(body, "active")
    if active:
        event = await services.streams.go_live(identity.user_id)
    else:
        event = await services.streams.end(identity.user_id, reason="owner")
    return web.json_response(stream_json(event.stream))


@routes.get("/api/live/{slug}", name="api_stream")
async def stream_by_slug(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    thumbnail = thumbnail_url(stream, services.thumbnails.snapshot(stream))
    return web.json_response(stream_json(stream, thumbnail))


async def _draft(body: dict[str, Any], places: PlaceDirectory) -> StreamDraft:
    """Title and description, placed in a listed city: named, or the nearest to given coordinates.

    Never more precise than a city: coordinates are snapped, so a page can't reveal a home.
    """
    title = text_field(body, "title")
    description = text_field(body, "description", required=False)
    city_name = text_field(body, "city", required=False)
    latitude = optional_number(body, "latitude")
    longitude = optional_number(body, "longitude")
    has_point = latitude is not None or longitude is not None
    if city_name and has_point:
        raise InvalidInput("Give 'city', or 'latitude' and 'longitude', not both.")
    city = None
    if city_name:
        city = await places.resolve(city_name)
    elif has_point:
        if latitude is None or longitude is None:
            raise InvalidInput("Give both 'latitude' and 'longitude', or neither.")
        city = await places.nearest(latitude, longitude)
    return StreamDraft(
        title=title,
        description=description,
        location_name=city.label if city else None,
        latitude=city.latitude if city else None,
        longitude=city.longitude if city else None,
    )


def _created_shape(stream: dict[str, Any], stream_key: str | None) -> dict[str, Any]:
    shape = {key: stream[key] for key in ("id", "slug", "title", "roomName", "streamKey", "active")}
    return {**shape, "streamKey": stream_key}

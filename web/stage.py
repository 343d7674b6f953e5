"""The stage API of the watch page and the studio: hands, invitations, guests.

Reading is open (the queue itself only to the streamer and moderators); every write needs a
signed-in member, and the streamer's actions (invite, remove, mute) the streamer or a moderator.
Member ids travel as strings: Discord ids are larger than a JavaScript number holds exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast, get_args

from aiohttp import web

from core.accounts import Identity
from core.kernel.errors import InvalidInput, NotAuthenticated
from core.kernel.i18n import N_
from core.livekit import host_identity
from core.stage import Guest, Hand, Invitation, Member, MuteSource, StageState
from core.streams import Stream
from web.body import json_object, text_field
from web.keys import SERVICES, identity_of

routes = web.RouteTableDef()

SIGN_IN_FOR_STAGE = N_(
    "Sign in to come on stage: use the Watch button on the stream's announcement in Discord."
)
_STAGE = "/api/live/{slug}/stage"


def _member(request: web.Request) -> Identity:
    identity = identity_of(request)
    if identity is None:
        raise NotAuthenticated(SIGN_IN_FOR_STAGE)
    return identity


async def _stream(request: web.Request) -> Stream:
    return await request.app[SERVICES].streams.get_by_slug(request.match_info["slug"])


def _user_id(body: dict[str, Any]) -> int:
    value = body.get("userId")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput("'userId' must be a member id (a string of digits).")
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise InvalidInput("'userId' must be a member id (a string of digits).")
    return int(text)


@routes.get(_STAGE, name="api_stage")
async def state(request: web.Request) -> web.Response:
    stream = await _stream(request)
    return web.json_response(await _state_json(request, stream))


@routes.post(_STAGE + "/raise", name="api_stage_raise")
async def raise_hand(request: web.Request) -> web.Response:
    stream, identity = await _stream(request), _member(request)
    await request.app[SERVICES].stage.raise_hand(
        stream, Member(identity.user_id, identity.display_name)
    )
    return web.json_response(await _state_json(request, stream))


@routes.post(_STAGE + "/lower", name="api_stage_lower")
async def lower_hand(request: web.Request) -> web.Response:
    stream, identity = await _stream(request), _member(request)
    await request.app[SERVICES].stage.lower_hand(stream, identity.user_id)
    return web.json_response(await _state_json(request, stream))


@routes.post(_STAGE + "/accept", name="api_stage_accept")
async def accept(request: web.Request) -> web.Response:
    stream, identity = await _stream(request), _member(request)
    body = await json_object(request)
    connection = text_field(body, "identity", required=False) or None
    await request.app[SERVICES].stage.accept(
        stream, Member(identity.user_id, identity.display_name), connection
    )
    return web.json_response(await _state_json(request, stream))


@routes.post(_STAGE + "/decline", name="api_stage_decline")
async def decline(request: web.Request) -> web.Response:
    stream, identity = await _stream(request), _member(request)
    await request.app[SERVICES].stage.decline(stream, identity.user_id)
    return web.json_response(await _state_json(request, stream))


@routes.post(_STAGE + "/leave", name="api_stage_leave")
async def leave(request: web.Request) -> web.Response:
    stream, identity = await _stream(request), _member(request)
    await request.app[SERVICES].stage.leave(stream, identity.user_id)
    return web.json_response(await _state_json(request, stream))


@routes.post(_STAGE + "/invite", name="api_stage_invite")
async def invite(request: web.Request) -> web.Response:
    stream, identity = await _stream(request), _member(request)
    services = request.app[SERVICES]
    await services.stage.check_may_manage(stream, identity.user_id)
    user_id = _user_id(await json_object(request))
    # The queue knows the name they raised their hand with; else LiveKit's (their token's).
    hand = (await services.stage.state(stream)).hand(user_id)
    await services.stage.invite(
        stream, by=identity.user_id, member=Member(user_id, hand.display_name if hand else "")
    )
    return web.json_response(await _state_json(request, stream), status=201)


@routes.post(_STAGE + "/remove", name="api_stage_remove")
async def remove(request: web.Request) -> web.Response:
    stream, identity = await _stream(request), _member(request)
    services = request.app[SERVICES]
    await services.stage.check_may_manage(stream, identity.user_id)
    user_id = _user_id(await json_object(request))
    await services.stage.remove(stream, by=identity.user_id, user_id=user_id)
    return web.json_response(await _state_json(request, stream))


@routes.post(_STAGE + "/mute", name="api_stage_mute")
async def mute(request: web.Request) -> web.Response:
    stream, identity = await _stream(request), _member(request)
    services = request.app[SERVICES]
    await services.stage.check_may_manage(stream, identity.user_id)
    body = await json_object(request)
    user_id = _user_id(body)
    source = text_field(body, "source", required=False, default="microphone")
    if source not in get_args(MuteSource):
        raise InvalidInput("'source' must be 'camera', 'microphone', 'screen_share' or 'all'.")
    muted = await services.stage.mute(
        stream, by=identity.user_id, user_id=user_id, source=cast(MuteSource, source)
    )
    return web.json_response({"muted": muted})


async def _state_json(request: web.Request, stream: Stream) -> dict[str, Any]:
    services = request.app[SERVICES]
    stage = await services.stage.state(stream)
    identity = identity_of(request)
    manages = identity is not None and await services.stage.may_manage(stream, identity.user_id)
    return {
        "live": stage.live,
        "maxGuests": stage.max_guests,
        "host": {"identity": host_identity(stream.owner_id), "name": stream.owner_name},
        "guests": [_guest_json(guest) for guest in stage.guests],
        # The queue is for the people who run the stage; others see how long it is.
        "handCount": len(stage.hands),
        "hands": [_hand_json(hand) for hand in stage.hands] if manages else [],
        "invitations": [_invitation_json(i) for i in stage.invitations] if manages else [],
        "me": _me_json(stage, identity, manages),
    }


def _me_json(stage: StageState, identity: Identity | None, manages: bool) -> dict[str, Any]:
    if identity is None:
        return {"signedIn": False, "canManage": False}
    invitation = stage.invitation(identity.user_id)
    guest = stage.guest(identity.user_id)
    return {
        "signedIn": True,
        "userId": str(identity.user_id),
        "canManage": manages,
        "handRaised": stage.hand(identity.user_id) is not None,
        "onStage": guest is not None,
        "identity": guest.identity if guest else None,
        "invitation": None if invitation is None else {"expiresAt": _iso(invitation.expires_at)},
    }


def _guest_json(guest: Guest) -> dict[str, Any]:
    return {
        "userId": str(guest.user_id),
        "name": guest.display_name,
        "identity": guest.identity,
        "joinedAt": _iso(guest.joined_at),
    }


def _hand_json(hand: Hand) -> dict[str, Any]:
    return {
        "userId": str(hand.user_id),
        "name": hand.display_name,
        "raisedAt": _iso(hand.raised_at),
    }


def _invitation_json(invitation: Invitation) -> dict[str, Any]:
    return {
        "userId": str(invitation.user_id),
        "name": invitation.display_name,
        "expiresAt": _iso(invitation.expires_at),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")

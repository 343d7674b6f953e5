"""The one place golive talks to LiveKit's server API (rooms) and mints its access tokens.

Every failure of LiveKit (refused, down, slow) becomes ``LiveKitUnavailable`` with words a member
can act on and LiveKit's error code in ``.code`` (None when it could not be reached), so callers
never see transport exceptions.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Literal, TypeVar

import aiohttp
from livekit import api

from core.kernel.errors import LiveKitUnavailable
from core.kernel.i18n import N_

log = logging.getLogger(__name__)

T = TypeVar("T")
Role = Literal["viewer", "broadcaster"]
IngressProtocol = Literal["rtmp", "whip"]
TrackSourceName = Literal["camera", "microphone", "screen_share", "screen_share_audio"]

# Everything a guest on stage may publish: what a broadcaster's token allows, by name.
STAGE_SOURCES: tuple[TrackSourceName, ...] = (
    "camera",
    "microphone",
    "screen_share",
    "screen_share_audio",
)

_TRACK_SOURCE = {
    "camera": api.TrackSource.CAMERA,
    "microphone": api.TrackSource.MICROPHONE,
    "screen_share": api.TrackSource.SCREEN_SHARE,
    "screen_share_audio": api.TrackSource.SCREEN_SHARE_AUDIO,
}

_INGRESS_INPUT = {
    "rtmp": api.IngressInput.RTMP_INPUT,
    "whip": api.IngressInput.WHIP_INPUT,
}

_UNREACHABLE = N_("The streaming server can't be reached right now. Please try again in a minute.")


class LiveKitGateway:
    def __init__(self, client: api.LiveKitAPI, timeout: float = 5.0) -> None:
        self._client = client
        # livekit-api sends every request with timeout=None (it overrides the session's), so a
        # hung server would hang the member's command forever; we bound each call ourselves.
        self.timeout = timeout

    async def create_room(self, name: str, metadata: str, *, departure_timeout: int = 0) -> None:
        """Create (or get) a room. ``departure_timeout``: seconds LiveKit keeps it open after the
        last participant left (0: LiveKit's default, 20 s)."""
        await self._call(
            "create the room",
            self._client.room.create_room(
                api.CreateRoomRequest(
                    name=name, metadata=metadata, departure_timeout=departure_timeout
                )
            ),
        )

    async def delete_room(self, name: str) -> bool:
        """Delete a room; False when it was already gone (LiveKit closes empty rooms itself)."""
        try:
            async with asyncio.timeout(self.timeout):
                await self._client.room.delete_room(api.DeleteRoomRequest(room=name))
        except api.TwirpError as error:
            if _code_of(error) == LiveKitUnavailable.NOT_FOUND:
                return False
            raise _refused("close the room", error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _unreachable("close the room", error) from error
        return True

    async def list_room_names(self) -> set[str]:
        response = await self._call(
            "list rooms", self._client.room.list_rooms(api.ListRoomsRequest())
        )
        return {room.name for room in response.rooms}

    async def list_participants(self, room: str) -> list[api.ParticipantInfo]:
        """Who is in a room right now (empty when the room does not exist)."""
        try:
            response = await self._call(
                "list participants",
                self._client.room.list_participants(api.ListParticipantsRequest(room=room)),
            )
        except LiveKitUnavailable as error:
            if error.code == error.NOT_FOUND:
                return []
            raise
        return list(response.participants)

    async def remove_participant(self, room: str, identity: str) -> bool:
        """Disconnect one participant; False when they (or the room) were already gone."""
        try:
            await self._call(
                "remove a participant",
                self._client.room.remove_participant(
                    api.RoomParticipantIdentity(room=room, identity=identity)
                ),
            )
        except LiveKitUnavailable as error:
            if error.code == error.NOT_FOUND:
                return False
            raise
        return True

    async def update_participant_permission(
        self, room: str, identity: str, *, sources: tuple[TrackSourceName, ...]
    ) -> bool:
        """Set what one participant may publish in one room, now: ``sources`` (camera, microphone,
        screen…) or nothing at all when empty. They keep subscribing and never publish data (chat
        goes through the server). LiveKit applies it to the live connection, and unpublishes what
        is no longer allowed. False when they (or the room) were already gone."""
        permission = api.ParticipantPermission(
            can_subscribe=True,
            can_publish=bool(sources),
            can_publish_data=False,
            can_update_metadata=False,
            can_publish_sources=[_TRACK_SOURCE[source] for source in sources],
        )
        try:
            await self._call(
                "change what a participant may publish",
                self._client.room.update_participant(
                    api.UpdateParticipantRequest(
                        room=room, identity=identity, permission=permission
                    )
                ),
            )
        except LiveKitUnavailable as error:
            if error.code == error.NOT_FOUND:
                return False
            raise
        return True

    async def mute_published_track(
        self, room: str, identity: str, track_sid: str, *, muted: bool = True
    ) -> bool:
        """Mute (or unmute) one published track; False when it (or its owner) is gone."""
        try:
            await self._call(
                "mute a track",
                self._client.room.mute_published_track(
                    api.MuteRoomTrackRequest(
                        room=room, identity=identity, track_sid=track_sid, muted=muted
                    )
                ),
            )
        except LiveKitUnavailable as error:
            if error.code == error.NOT_FOUND:
                return False
            raise
        return True

    async def send_data(self, room: str, payload: bytes, topic: str) -> None:
        """Broadcast a reliable data packet (≤ 15 KiB) to everyone in the room on `topic`."""
        await self._call(
            "send data to the room",
            self._client.room.send_data(
                api.SendDataRequest(
                    room=room, data=payload, topic=topic, kind=api.DataPacket.Kind.RELIABLE
                )
            ),
        )

    # -- ingress (OBS): livekit-api signs these calls with the ingressAdmin grant ----------------

    async def create_ingress(
        self,
        *,
        input_type: IngressProtocol,
        name: str,
        room_name: str,
        identity: str,
        participant_name: str,
    ) -> api.IngressInfo:
        """A reusable RTMP or WHIP ingress publishing into ``room_name`` as ``identity``."""
        return await self._call(
            "create an OBS ingress",
            self._client.ingress.create_ingress(
                api.CreateIngressRequest(
                    input_type=_INGRESS_INPUT[input_type],
                    name=name,
                    room_name=room_name,
                    participant_identity=identity,
                    participant_name=participant_name,
                )
            ),
        )

    async def get_ingress(self, ingress_id: str) -> api.IngressInfo | None:
        """The ingress with its stream key and state; None when LiveKit no longer has it."""
        try:
            response = await self._call(
                "read the OBS ingress",
                self._client.ingress.list_ingress(api.ListIngressRequest(ingress_id=ingress_id)),
            )
        except LiveKitUnavailable as error:
            if error.code == error.NOT_FOUND:
                return None
            raise
        return next((item for item in response.items if item.ingress_id == ingress_id), None)

    async def move_ingress(self, ingress_id: str, room_name: str) -> None:
        """Point the ingress at another room (LiveKit applies it from the next connection)."""
        await self._call(
            "update the OBS ingress",
            self._client.ingress.update_ingress(
                api.UpdateIngressRequest(ingress_id=ingress_id, room_name=room_name)
            ),
        )

    async def delete_ingress(self, ingress_id: str) -> bool:
        """Delete an ingress (its key stops working at once); False when it was already gone."""
        try:
            await self._call(
                "delete the OBS ingress",
                self._client.ingress.delete_ingress(
                    api.DeleteIngressRequest(ingress_id=ingress_id)
                ),
            )
        except LiveKitUnavailable as error:
            if error.code == error.NOT_FOUND:
                return False
            raise
        return True

    # -- egress (recording): signed with the roomRecord grant ------------------------------

    async def start_room_recording(
        self, room_name: str, output: api.EncodedFileOutput
    ) -> api.EgressInfo:
        """Record the room as LiveKit composes it (the speaker layout) into one file."""
        return await self._call(
            "start a recording",
            self._client.egress.start_room_composite_egress(
                api.RoomCompositeEgressRequest(
                    room_name=room_name, layout="speaker", file_outputs=[output]
                )
            ),
        )

    async def start_room_snapshots(self, room_name: str, output: api.ImageOutput) -> api.EgressInfo:
        """Snapshots of the room as LiveKit composes it, as images (thumbnails); no audio."""
        return await self._call(
            "start the thumbnails",
            self._client.egress.start_room_composite_egress(
                api.RoomCompositeEgressRequest(
                    room_name=room_name, layout="speaker", video_only=True, image_outputs=[output]
                )
            ),
        )

    async def stop_egress(self, egress_id: str) -> bool:
        """Stop a recording; False when it had already stopped or is unknown."""
        try:
            await self._call(
                "stop the recording",
                self._client.egress.stop_egress(api.StopEgressRequest(egress_id=egress_id)),
            )
        except LiveKitUnavailable as error:
            if error.code in (error.NOT_FOUND, error.FAILED_PRECONDITION):
                return False
            raise
        return True

    async def _call(self, what: str, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.timeout):
                return await call
        except api.TwirpError as error:
            raise _refused(what, error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _unreachable(what, error) from error


def livekit_trouble(error: LiveKitUnavailable) -> str:
    """The operator's words for a LiveKit failure (logs, `golive check`): what, and what to do."""
    if error.bad_credentials:
        return (
            "LiveKit refused golive's API key and secret: set LIVEKIT_API_KEY and "
            "LIVEKIT_API_SECRET to a key pair from livekit-server's configuration (`keys:`)"
        )
    if error.refused:
        said = "an error it did not explain" if error.code == "unknown" else f"'{error.code}'"
        return (
            f"LiveKit answered with {said}: check that LIVEKIT_URL is livekit-server's own "
            "address (not a proxy's page) and look at livekit-server's log"
        )
    return "LiveKit can't be reached: is livekit-server running, and is LIVEKIT_URL right?"


def _code_of(error: api.TwirpError) -> str:
    """LiveKit's code; a bare 401/403 (a proxy's page, no Twirp body) reads as "unknown" in
    livekit-api, but it is still a refusal of golive's credentials."""
    if error.code == api.TwirpErrorCode.UNKNOWN and error.status == 401:
        return LiveKitUnavailable.UNAUTHENTICATED
    if error.code == api.TwirpErrorCode.UNKNOWN and error.status == 403:
        return LiveKitUnavailable.PERMISSION_DENIED
    return str(error.code)


def _refused(what: str, error: api.TwirpError) -> LiveKitUnavailable:
    code = _code_of(error)
    log.warning("LiveKit refused to %s: %s %s", what, code, error.message)
    # What was refused is in the log; the member reads LiveKit's code, in their language.
    return LiveKitUnavailable(
        "The streaming server refused this (%(refusal)s). Please try again, "
        "or ask an admin to run `golive check`.",
        code=code,
        refusal=code,
    )


def _unreachable(what: str, error: BaseException) -> LiveKitUnavailable:
    log.warning("LiveKit unreachable while trying to %s: %s", what, error or type(error).__name__)
    return LiveKitUnavailable(_UNREACHABLE, code=None)


class TokenMinter:
    """Mints LiveKit access tokens with the least privilege each role needs.

    Every watch page asks for a token first, so at a popular go-live thousands arrive within
    seconds. livekit-api's ``AccessToken.to_jwt()`` spends most of its ~50 µs rebuilding the
    claims with ``dataclasses.asdict`` and letting PyJWT re-prepare the key on every call. Here the
    grants are turned into JSON once per role (from the same ``VideoGrants`` livekit-api would
    sign), the JWT header segment is encoded once and the HMAC key is prepared once; a token then
    costs a few string joins, one base64 and one HMAC-SHA256. The claim set is exactly the one
    ``AccessToken`` produces (tests/core/test_tokens.py compares them), and both livekit-api's and
    livekit-server-sdk's verifiers accept it (bench/token_endpoint.py checks the latter).
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        ttl: timedelta,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_key or not api_secret:
            raise ValueError("api_key and api_secret must be set")
        self._issuer_json = _json_text(api_key)
        self._ttl_seconds = ttl.total_seconds()
        # LiveKit checks nbf/exp against its own wall clock, so tokens use real time, not the
        # injected Clock that tests move around.
        self._wall_clock = wall_clock
        self._mac = hmac.new(api_secret.encode("utf-8"), digestmod=hashlib.sha256)
        self._grants_tail = {role: _grants_tail(grants_for(role)) for role in _ROLES}

    def mint(self, *, room: str, identity: str, name: str, role: Role) -> str:
        if not room or not identity:
            # AccessToken.to_jwt() refuses the same: a join grant needs both.
            raise ValueError("identity and room must be set when joining a room")
        now = self._wall_clock()
        # The same claims, in the same order, as AccessToken: empty strings are left out.
        name_part = f'"name":{_json_text(name)},' if name else ""
        payload = (
            f'{{{name_part}"video":{{"roomJoin":true,"room":{_json_text(room)},'
            f"{self._grants_tail[role]},"
            f'"sub":{_json_text(identity)},"iss":{self._issuer_json},'
            f'"nbf":{int(now)},"exp":{int(now + self._ttl_seconds)}}}'
        )
        signing_input = _JWT_HEADER + b"." + _b64url(payload.encode("ascii"))
        mac = self._mac.copy()
        mac.update(signing_input)
        return (signing_input + b"." + _b64url(mac.digest())).decode("ascii")


_ROLES: tuple[Role, ...] = ("viewer", "broadcaster")


def grants_for(role: Role, room: str = "") -> api.VideoGrants:
    """The grants of each role, in livekit-api's vocabulary (the minter signs exactly these)."""
    broadcaster = role == "broadcaster"
    return api.VideoGrants(
        room_join=True,
        room=room,
        can_subscribe=True,
        # VideoGrants default these to True: viewers must be told no explicitly.
        can_publish=broadcaster,
        # Chat is server-mediated, so nobody publishes data directly into the room.
        can_publish_data=False,
        can_update_own_metadata=False,
        can_publish_sources=list(STAGE_SOURCES) if broadcaster else [],
    )


def _grants_tail(grants: api.VideoGrants) -> str:
    """The video claim after its ``roomJoin`` and ``room``, as livekit-api serialises it."""
    video = api.access_token.Claims(video=grants).asdict()["video"]
    if video.pop("roomJoin", None) is not True or "room" in video:
        raise ValueError("a role's grants must join a room and leave the room name open")
    return _json(video)[1:-1] + "}"


def _json(value: object) -> str:
    # Compact, ASCII-only JSON, as PyJWT writes it (so the payload is pure ASCII).
    return json.dumps(value, separators=(",", ":"))


# What json.dumps does for a str (ensure_ascii), without building an encoder on every call.
_json_text: Callable[[str], str] = json.encoder.encode_basestring_ascii


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


_JWT_HEADER = _b64url(_json({"alg": "HS256", "typ": "JWT"}).encode("ascii"))

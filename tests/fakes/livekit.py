"""An in-process LiveKit server double that speaks LiveKit's real wire protocol.

``FakeLiveKit`` runs an aiohttp server on 127.0.0.1 inside the test's event loop, so
the *unmodified* ``livekit.api.LiveKitAPI`` client talks to it exactly as it would
to livekit-server: Twirp over HTTP (``POST /twirp/livekit.<Service>/<Method>``,
protobuf bodies), HS256 bearer tokens checked grant by grant, and Twirp JSON errors.

Behaviour mirrors livekit-server's ``pkg/service`` (auth.go, roomservice.go,
ingress.go, egress.go, errors.go), including its less obvious corners:

* A token that fails verification (wrong secret, unknown key, malformed, expired)
  is rejected by the auth *middleware* with HTTP 401 and a **plain-text** body,
  not a Twirp JSON error.  ``livekit-api`` therefore raises
  ``TwirpError(code="unknown", status=401)`` for it.
* A valid token that lacks the needed grant is rejected by the service with
  Twirp ``unauthenticated`` / "permissions denied" (HTTP 401, JSON).
* CreateRoom is get-or-create, but non-zero fields of the request (metadata,
  empty_timeout, departure_timeout, max_participants) overwrite the existing room.
* ListParticipants of a room that does not exist returns an empty list (switchable
  to 404 with ``missing_room_participants="not_found"``).

Note for callers: livekit-api 1.2 passes ``timeout=None`` on every request, which
disables the aiohttp session timeout, so ``LiveKitAPI(timeout=...)`` bounds nothing;
``slow()`` plus ``asyncio.timeout`` is how to test that code guards its calls.

Everything is kept in memory; tests read and seed it directly (``rooms``,
``participants``, ``add_participant`` ...) and steer failures with ``fail_next``,
``down``/``up`` and ``slow``.  Webhook helpers produce bodies and Authorization
headers that ``livekit.api.WebhookReceiver`` accepts.  An egress with image outputs
writes real JPEG snapshots where LiveKit's egress would, each time a test calls
``capture_snapshots()`` (the egress's ``capture_interval``, on the test's clock).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import string
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
import jwt
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit import api
from livekit.api.access_token import Claims, VideoGrants
from livekit.api.twirp_client import REQUEST_ID_HEADER
from livekit.protocol import egress as lk_egress
from livekit.protocol import ingress as lk_ingress
from livekit.protocol import models as lk_models
from livekit.protocol import room as lk_room
from livekit.protocol import webhook as lk_webhook

from tests.fakes.jpeg import solid_jpeg

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "TWIRP_HTTP_STATUS",
    "WEBHOOK_EVENTS",
    "FakeLiveKit",
    "PublishRefused",
    "RecordedRequest",
    "SentData",
    "TwirpFault",
    "new_id",
    "sign_webhook",
]

# Test-only credentials; the secret is >= 32 bytes so PyJWT accepts it for HS256.
DEFAULT_API_KEY = "devkey"
DEFAULT_API_SECRET = "fake-livekit-secret-0123456789abcdef"

PROTOBUF_CONTENT_TYPE = "application/protobuf"
JSON_CONTENT_TYPE = "application/json"
WEBHOOK_CONTENT_TYPE = "application/webhook+json"

# HTTP status for each Twirp error code (twirp-go's ServerHTTPStatusFromErrorCode).
TWIRP_HTTP_STATUS: dict[str, int] = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}

# Event names livekit-server sends (livekit/protocol webhook/events.go).
WEBHOOK_EVENTS: frozenset[str] = frozenset(
    {
        "room_started",
        "room_finished",
        "participant_joined",
        "participant_left",
        "participant_connection_aborted",
        "track_published",
        "track_unpublished",
        "egress_started",
        "egress_updated",
        "egress_ended",
        "ingress_started",
        "ingress_ended",
    }
)

# Messages livekit-server uses for these conditions (pkg/service/errors.go, auth.go).
MSG_PERMISSION_DENIED = "permissions denied"
MSG_ROOM_NOT_FOUND = "requested room does not exist"
MSG_PARTICIPANT_NOT_FOUND = "participant does not exist"
MSG_INGRESS_NOT_FOUND = "ingress does not exist"
MSG_EGRESS_NOT_FOUND = "egress does not exist"

ParticipantKind = Literal["standard", "ingress", "egress", "sip", "agent"]
TrackKind = Literal["audio", "video"]
TrackSourceName = Literal["camera", "microphone", "screen_share", "screen_share_audio"]

_ID_ALPHABET = string.ascii_letters + string.digits
_ACTIVE_EGRESS = (lk_egress.EgressStatus.EGRESS_STARTING, lk_egress.EgressStatus.EGRESS_ACTIVE)


def new_id(prefix: str, length: int = 12) -> str:
    """Return a LiveKit-style id such as ``RM_x8Gd2kP0aQz1`` (prefix + random base62)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def sign_webhook(body: str, api_key: str, api_secret: str) -> str:
    """Return the raw JWT LiveKit puts in a webhook's Authorization header.

    Its ``sha256`` claim is base64(sha256(body)), which is how receivers tie the
    token to the exact body bytes.
    """
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = api.AccessToken(api_key, api_secret).with_sha256(digest)
    return token.with_ttl(timedelta(minutes=5)).to_jwt()


class TwirpFault(Exception):
    """A Twirp error the fake answers with: JSON ``{"code", "msg"[, "meta"]}``."""

    def __init__(
        self,
        code: str,
        msg: str,
        *,
        status: int | None = None,
        meta: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status if status is not None else TWIRP_HTTP_STATUS.get(code, 500)
        self.meta = meta

    def to_response(self) -> web.Response:
        """Render the error the way twirp-go does."""
        body: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.meta:
            body["meta"] = self.meta
        return web.json_response(body, status=self.status)


class PublishRefused(Exception):
    """livekit-server refused a track: its participant may not publish that source now.

    A real client's ``publishTrack`` fails with "insufficient permissions"; ``publish_track``
    raises this instead, so a test can show that what a participant holds is not enough.
    """


class _AuthRejected(Exception):
    """Raised by the auth step; answered as a plain-text 401 like livekit-server's middleware."""


@dataclass
class RecordedRequest:
    """One HTTP call to a Twirp endpoint, as the fake saw it.

    Kept so tests can assert which grants the code under test asked for, what it
    sent, and how the fake answered.
    """

    service: str
    method: str
    request_id: str | None = None
    token: str | None = None
    claims: Claims | None = None
    request: Message | None = None
    status: int = 0
    error_code: str | None = None

    @property
    def grants(self) -> VideoGrants | None:
        """The ``video`` grants of the verified token, if any."""
        return self.claims.video if self.claims is not None else None


@dataclass(frozen=True)
class SentData:
    """One RoomService.SendData call, kept so tests can assert what was broadcast."""

    room: str
    data: bytes
    topic: str
    destination_identities: tuple[str, ...]
    destination_sids: tuple[str, ...]
    kind: int
    nonce: bytes

    @property
    def text(self) -> str:
        """The payload decoded as UTF-8 (most app data is JSON)."""
        return self.data.decode()


@dataclass
class _Fault:
    service: str | None
    method: str
    code: str
    status: int
    msg: str
    remaining: int


@dataclass(frozen=True)
class _Route:
    request_type: type[Message]
    handler: Callable[[Any, Claims | None], Message]


# --- grant checks (pkg/service/auth.go: Ensure*Permission) -----------------------------


def _video(claims: Claims | None) -> VideoGrants | None:
    return claims.video if claims is not None else None


def _ensure(allowed: bool) -> None:
    if not allowed:
        raise TwirpFault("unauthenticated", MSG_PERMISSION_DENIED)


def _ensure_create(claims: Claims | None) -> None:
    video = _video(claims)
    _ensure(video is not None and bool(video.room_create))


def _ensure_list(claims: Claims | None) -> None:
    video = _video(claims)
    _ensure(video is not None and bool(video.room_list))


def _ensure_admin(claims: Claims | None, room: str) -> None:
    video = _video(claims)
    _ensure(video is not None and bool(video.room_admin) and video.room == room)


def _ensure_record(claims: Claims | None) -> None:
    video = _video(claims)
    _ensure(video is not None and bool(video.room_record))


def _ensure_ingress_admin(claims: Claims | None) -> None:
    video = _video(claims)
    _ensure(video is not None and bool(video.ingress_admin))


def _allows(permission: lk_models.ParticipantPermission, source: int) -> bool:
    sources = list(permission.can_publish_sources)
    return bool(permission.can_publish) and (not sources or source in sources)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class FakeLiveKit:
    """A LiveKit server double for tests; use as ``async with FakeLiveKit() as lk``.

    Point ``livekit.api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)`` (or
    ``lk.client()``) at it.  State is plain in-memory protobufs that tests may read
    and mutate directly.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rtmp_base_url: str = "rtmp://fake-livekit.invalid:1935/live",
        whip_base_url: str = "http://fake-livekit.invalid:8080/w",
        default_empty_timeout: int = 300,
        default_departure_timeout: int = 20,
        missing_room_participants: Literal["empty", "not_found"] = "empty",
        delete_missing_room: Literal["not_found", "ok"] = "not_found",
        enable_remote_unmute: bool = False,
    ) -> None:
        """Configure the fake; nothing listens until ``start()``/``__aenter__``.

        ``port=0`` picks a free port on first start; ``up()`` reuses it.  The
        ``missing_room_*``/``delete_missing_room`` switches select between real
        livekit-server behaviours (defaults are current livekit-server).
        """
        self.api_key = api_key
        self.api_secret = api_secret
        self.host = host
        self.rtmp_base_url = rtmp_base_url
        self.whip_base_url = whip_base_url
        self.default_empty_timeout = default_empty_timeout
        self.default_departure_timeout = default_departure_timeout
        self.missing_room_participants = missing_room_participants
        self.delete_missing_room = delete_missing_room
        self.enable_remote_unmute = enable_remote_unmute

        self.rooms: dict[str, lk_models.Room] = {}
        self.participants: dict[str, dict[str, lk_models.ParticipantInfo]] = {}
        self.ingresses: dict[str, lk_ingress.IngressInfo] = {}
        self.egresses: dict[str, lk_egress.EgressInfo] = {}
        self.sent_data: list[SentData] = []
        # Where a relative image prefix lands (the egress container's working_dir); a fresh
        # temporary folder when first needed.
        self.egress_working_dir: Path | None = None
        self.requests: list[RecordedRequest] = []
        self._arrived = asyncio.Event()  # set on every request, for called()
        self.delay: float = 0.0
        self._hanging: set[str] = set()
        self._recovered = asyncio.Event()
        self._recovered.set()

        self._port = port
        self._runner: web.AppRunner | None = None
        self._faults: list[_Fault] = []
        self._verifier = api.TokenVerifier(api_key, api_secret)
        self._routes: dict[tuple[str, str], _Route] = {
            ("RoomService", "CreateRoom"): _Route(lk_room.CreateRoomRequest, self._create_room),
            ("RoomService", "ListRooms"): _Route(lk_room.ListRoomsRequest, self._list_rooms),
            ("RoomService", "DeleteRoom"): _Route(lk_room.DeleteRoomRequest, self._delete_room),
            ("RoomService", "ListParticipants"): _Route(
                lk_room.ListParticipantsRequest, self._list_participants
            ),
            ("RoomService", "GetParticipant"): _Route(
                lk_room.RoomParticipantIdentity, self._get_participant
            ),
            ("RoomService", "RemoveParticipant"): _Route(
                lk_room.RoomParticipantIdentity, self._remove_participant
            ),
            ("RoomService", "MutePublishedTrack"): _Route(
                lk_room.MuteRoomTrackRequest, self._mute_published_track
            ),
            ("RoomService", "UpdateParticipant"): _Route(
                lk_room.UpdateParticipantRequest, self._update_participant
            ),
            ("RoomService", "UpdateRoomMetadata"): _Route(
                lk_room.UpdateRoomMetadataRequest, self._update_room_metadata
            ),
            ("RoomService", "SendData"): _Route(lk_room.SendDataRequest, self._send_data),
            ("Ingress", "CreateIngress"): _Route(
                lk_ingress.CreateIngressRequest, self._create_ingress
            ),
            ("Ingress", "UpdateIngress"): _Route(
                lk_ingress.UpdateIngressRequest, self._update_ingress
            ),
            ("Ingress", "ListIngress"): _Route(lk_ingress.ListIngressRequest, self._list_ingress),
            ("Ingress", "DeleteIngress"): _Route(
                lk_ingress.DeleteIngressRequest, self._delete_ingress
            ),
            ("Egress", "StartRoomCompositeEgress"): _Route(
                lk_egress.RoomCompositeEgressRequest, self._start_room_composite_egress
            ),
            ("Egress", "ListEgress"): _Route(lk_egress.ListEgressRequest, self._list_egress),
            ("Egress", "StopEgress"): _Route(lk_egress.StopEgressRequest, self._stop_egress),
        }

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def port(self) -> int:
        """The TCP port; fixed after the first ``start()`` so ``up()`` can reuse it."""
        if self._port == 0:
            raise RuntimeError("FakeLiveKit has not been started yet")
        return self._port

    @property
    def url(self) -> str:
        """Base URL to hand to ``LiveKitAPI`` (http; ws:// works too, the client maps it)."""
        return f"http://{self.host}:{self.port}"

    @property
    def is_up(self) -> bool:
        """Whether the server is currently accepting connections."""
        return self._runner is not None

    async def start(self) -> None:
        """Start listening (on a random free port the first time, the same port after)."""
        if self._runner is not None:
            return
        # A short shutdown timeout makes down() cut in-flight (e.g. slowed) requests.
        runner = web.AppRunner(self._make_app(), shutdown_timeout=0.1, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        if self._port == 0:
            self._port = int(runner.addresses[0][1])

    async def down(self) -> None:
        """Simulate an outage: close the listener *and* open keep-alive connections.

        New requests then fail with connection refused
        (``aiohttp.ClientConnectorError``); state is kept for ``up()``.
        """
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            # Let clients in this loop notice their pooled keep-alive connections were
            # closed, so the next request dials (and is refused) instead of failing
            # mid-write on a dead socket.
            await asyncio.sleep(0.01)

    async def up(self) -> None:
        """Recover from ``down()``: listen again on the same port with the same state."""
        await self.start()

    async def aclose(self) -> None:
        """Stop the server for good."""
        await self.down()

    def client(
        self,
        *,
        timeout: aiohttp.ClientTimeout | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> api.LiveKitAPI:
        """A real ``LiveKitAPI`` pointed at this fake (caller must ``aclose()`` it)."""
        return api.LiveKitAPI(
            self.url, self.api_key, self.api_secret, timeout=timeout, session=session
        )

    def make_token(
        self,
        grants: VideoGrants | None = None,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        identity: str = "",
        ttl: timedelta = timedelta(minutes=10),
    ) -> str:
        """Mint an access token, e.g. one with too few grants or the wrong secret."""
        token = api.AccessToken(api_key or self.api_key, api_secret or self.api_secret)
        if grants is not None:
            token.with_grants(grants)
        return token.with_identity(identity).with_ttl(ttl).to_jwt()

    # --- failure switches ----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        code: str = "internal",
        status: int | None = None,
        msg: str = "injected failure",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with a Twirp error.

        ``method`` is ``"CreateRoom"`` or ``"RoomService/CreateRoom"``; ``status``
        defaults to the HTTP status Twirp uses for ``code``.  The call is still
        authenticated, decoded and recorded, but state is not touched.
        """
        service, _, name = method.rpartition("/")
        service = service.removeprefix("livekit.")
        known = {(svc, meth) for svc, meth in self._routes}
        if not any(meth == name and (not service or svc == service) for svc, meth in known):
            raise ValueError(f"FakeLiveKit does not implement {method!r}")
        if times < 1:
            raise ValueError("times must be >= 1")
        self._faults.append(
            _Fault(
                service=service or None,
                method=name,
                code=code,
                status=status if status is not None else TWIRP_HTTP_STATUS.get(code, 500),
                msg=msg,
                remaining=times,
            )
        )

    def clear_faults(self) -> None:
        """Drop any pending ``fail_next`` injections."""
        self._faults.clear()

    def hang(self, *methods: str) -> None:
        """Calls of these methods (e.g. "SendData") get no answer until `recover()`: a LiveKit
        that accepts the connection and then says nothing, rather than one that refuses."""
        self._hanging.update(methods)
        self._recovered.clear()

    def recover(self) -> None:
        """Answer the hung calls (and every later one) again."""
        self._hanging.clear()
        self._recovered.set()

    def slow(self, seconds: float) -> None:
        """Delay every request by ``seconds`` before handling it (0 turns it off)."""
        self.delay = max(0.0, seconds)

    def reset(self) -> None:
        """Forget all state, recordings and failure switches (the server stays up)."""
        self.rooms.clear()
        self.participants.clear()
        self.ingresses.clear()
        self.egresses.clear()
        self.sent_data.clear()
        self.requests.clear()
        self._faults.clear()
        self.delay = 0.0

    # --- direct state helpers (no HTTP) --------------------------------------------------

    async def called(self, method: str) -> RecordedRequest:
        """Wait until a call of ``method`` has arrived (it may still be in slow()'s delay)."""
        while not (found := self.calls(method)):
            self._arrived.clear()
            await self._arrived.wait()
        return found[0]

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests for one method name, e.g. ``lk.calls("SendData")``."""
        return [r for r in self.requests if r.method == method]

    def add_room(
        self,
        name: str,
        *,
        metadata: str = "",
        empty_timeout: int | None = None,
        max_participants: int = 0,
    ) -> lk_models.Room:
        """Create (or return) a room as if some client had caused it to exist."""
        room = self._get_or_create_room(name)
        if metadata:
            room.metadata = metadata
        if empty_timeout is not None:
            room.empty_timeout = empty_timeout
        if max_participants:
            room.max_participants = max_participants
        return room

    def close_room(self, name: str) -> lk_models.Room:
        """End a room server-side (what empty_timeout would do); KeyError if missing."""
        room = self.rooms.pop(name)
        self.participants.pop(name, None)
        return room

    def add_participant(
        self,
        room: str,
        identity: str,
        name: str = "",
        *,
        kind: ParticipantKind = "standard",
        metadata: str = "",
        is_publisher: bool = False,
        attributes: dict[str, str] | None = None,
        permission: lk_models.ParticipantPermission | None = None,
    ) -> lk_models.ParticipantInfo:
        """Make ``identity`` join ``room`` (auto-creating it, as livekit-server does)."""
        self._get_or_create_room(room)
        now_ms = _now_ms()
        info = lk_models.ParticipantInfo(
            sid=new_id("PA_"),
            identity=identity,
            name=name,
            state=lk_models.ParticipantInfo.State.ACTIVE,
            metadata=metadata,
            joined_at=now_ms // 1000,
            joined_at_ms=now_ms,
            version=1,
            is_publisher=is_publisher,
            kind=kind.upper(),
            attributes=attributes or {},
            permission=permission
            or lk_models.ParticipantPermission(
                can_subscribe=True, can_publish=True, can_publish_data=True
            ),
        )
        self.participants[room][identity] = info
        self._refresh_counts(room)
        return info

    def join_with_token(self, token: str) -> lk_models.ParticipantInfo:
        """Connect the way a client does with an access token: the participant's identity,
        room and permission come from its (verified) grants, as livekit-server derives them."""
        claims = self._verifier.verify(token)
        video = claims.video
        if video is None or not video.room_join or not video.room:
            raise PermissionError("the token does not grant joining a room")
        permission = lk_models.ParticipantPermission(
            can_subscribe=bool(video.can_subscribe),
            can_publish=bool(video.can_publish),
            can_publish_data=bool(video.can_publish_data),
            can_update_metadata=bool(video.can_update_own_metadata),
            can_publish_sources=[
                lk_models.TrackSource.Value(source.upper())
                for source in video.can_publish_sources or []
            ],
        )
        return self.add_participant(
            video.room, claims.identity, claims.name or "", permission=permission
        )

    def may_publish(self, room: str, identity: str, source: TrackSourceName) -> bool:
        """What livekit-server checks when a track is published: ``can_publish``, and the source
        among ``can_publish_sources`` (an empty list allows every source)."""
        permission = self.participants[room][identity].permission
        return _allows(permission, lk_models.TrackSource.Value(source.upper()))

    def remove_participant_directly(self, room: str, identity: str) -> lk_models.ParticipantInfo:
        """Make ``identity`` leave ``room``; returns its info in DISCONNECTED state."""
        info = self.participants[room].pop(identity)
        info.state = lk_models.ParticipantInfo.State.DISCONNECTED
        self._refresh_counts(room)
        return info

    def publish_track(
        self,
        room: str,
        identity: str,
        *,
        kind: TrackKind = "video",
        source: TrackSourceName | None = None,
        name: str = "",
        muted: bool = False,
    ) -> lk_models.TrackInfo:
        """Give a participant a published track (marks it a publisher); ``PublishRefused``
        when their current permission does not allow that source."""
        participant = self.participants[room][identity]
        default_source: TrackSourceName = "camera" if kind == "video" else "microphone"
        if not self.may_publish(room, identity, source or default_source):
            raise PublishRefused(f"{identity} may not publish {source or default_source}")
        track = lk_models.TrackInfo(
            sid=new_id("TR_"),
            type=kind.upper(),
            source=(source or default_source).upper(),
            name=name,
            muted=muted,
        )
        participant.tracks.append(track)
        participant.is_publisher = True
        self._refresh_counts(room)
        return participant.tracks[-1]

    def set_ingress_status(
        self, ingress_id: str, status: lk_ingress.IngressState.Status
    ) -> lk_ingress.IngressInfo:
        """Move an ingress to another state, e.g. ENDPOINT_PUBLISHING when OBS connects."""
        info = self.ingresses[ingress_id]
        info.state.status = status
        info.state.updated_at = time.time_ns()
        if status == lk_ingress.IngressState.Status.ENDPOINT_PUBLISHING:
            info.state.started_at = time.time_ns()
        return info

    def capture_snapshots(self, egress_id: str | None = None) -> list[Path]:
        """What the egress service does every ``capture_interval``: each running egress with image
        outputs (``egress_id``'s alone, if given) writes its next snapshot, a real JPEG of the
        output's size, where LiveKit's egress would: ``<prefix>.jpeg`` overwritten in place
        (IMAGE_SUFFIX_NONE_OVERWRITE), ``<prefix>_<n>.jpeg`` (INDEX, from 0) or
        ``<prefix>_<yyyymmddhhmmss><ms>.jpeg`` (TIMESTAMP). Each snapshot has another colour, so
        two in a row differ. Returns the files written."""
        written: list[Path] = []
        for info in self.egresses.values():
            if (egress_id and info.egress_id != egress_id) or info.status not in _ACTIVE_EGRESS:
                continue
            outputs = info.room_composite.image_outputs
            for output, result in zip(outputs, info.image_results, strict=False):
                path = self._in_egress_dir(_snapshot_path(output, result))
                path.parent.mkdir(parents=True, exist_ok=True)
                colour = _SNAPSHOT_COLOURS[result.image_count % len(_SNAPSHOT_COLOURS)]
                path.write_bytes(solid_jpeg(output.width or 640, output.height or 360, colour))
                now_ns = time.time_ns()
                result.image_count += 1
                result.started_at = result.started_at or now_ns
                written.append(path)
        return written

    def _in_egress_dir(self, path: Path) -> Path:
        """A relative prefix is relative to the egress service's working directory."""
        if path.is_absolute():
            return path
        if self.egress_working_dir is None:
            self.egress_working_dir = Path(tempfile.mkdtemp(prefix="fake-egress-"))
        return self.egress_working_dir / path

    def set_egress_status(
        self, egress_id: str, status: lk_egress.EgressStatus
    ) -> lk_egress.EgressInfo:
        """Move an egress to another status, e.g. EGRESS_ACTIVE or EGRESS_COMPLETE."""
        info = self.egresses[egress_id]
        info.status = status
        info.updated_at = time.time_ns()
        if status == lk_egress.EgressStatus.EGRESS_ACTIVE and not info.started_at:
            info.started_at = info.updated_at
        if status not in _ACTIVE_EGRESS and status != lk_egress.EgressStatus.EGRESS_ENDING:
            info.ended_at = info.updated_at
        return info

    # --- webhooks ------------------------------------------------------------------------

    def event(
        self,
        kind: str,
        room_name: str | None = None,
        participant_identity: str | None = None,
        *,
        participant: lk_models.ParticipantInfo | None = None,
        track: lk_models.TrackInfo | None = None,
        egress_info: lk_egress.EgressInfo | None = None,
        ingress_info: lk_ingress.IngressInfo | None = None,
    ) -> lk_webhook.WebhookEvent:
        """Build a webhook event with a fresh ``id`` and ``created_at``.

        Room and participant are taken from the fake's state when present, else
        synthesised from the given names, so events for rooms the fake never saw
        (or participants who already left) can still be produced.
        """
        if kind not in WEBHOOK_EVENTS:
            raise ValueError(f"unknown LiveKit webhook event {kind!r}")
        event = lk_webhook.WebhookEvent(event=kind, id=new_id("EV_"), created_at=int(time.time()))
        if room_name is not None:
            known_room = self.rooms.get(room_name)
            event.room.CopyFrom(
                known_room
                if known_room is not None
                else lk_models.Room(name=room_name, sid=new_id("RM_"))
            )
        if participant is None and participant_identity is not None:
            participant = self.participants.get(room_name or "", {}).get(participant_identity)
            if participant is None:
                participant = lk_models.ParticipantInfo(
                    sid=new_id("PA_"),
                    identity=participant_identity,
                    state=lk_models.ParticipantInfo.State.ACTIVE,
                )
        if participant is not None:
            event.participant.CopyFrom(participant)
        if track is not None:
            event.track.CopyFrom(track)
        if egress_info is not None:
            event.egress_info.CopyFrom(egress_info)
        if ingress_info is not None:
            event.ingress_info.CopyFrom(ingress_info)
        return event

    def signed_webhook(
        self,
        event: lk_webhook.WebhookEvent,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
    ) -> tuple[str, dict[str, str]]:
        """Return ``(body, headers)`` exactly as livekit-server would POST them.

        ``api_key``/``api_secret`` override the signer, to test rejection paths.
        """
        body = json_format.MessageToJson(event)
        token = sign_webhook(body, api_key or self.api_key, api_secret or self.api_secret)
        return body, {"Content-Type": WEBHOOK_CONTENT_TYPE, "Authorization": token}

    async def post_webhook(
        self,
        url: str,
        event: lk_webhook.WebhookEvent,
        *,
        session: aiohttp.ClientSession | None = None,
        api_secret: str | None = None,
    ) -> int:
        """POST a signed webhook to ``url``; returns the HTTP status of the response."""
        body, headers = self.signed_webhook(event, api_secret=api_secret)
        if session is not None:
            async with session.post(url, data=body.encode(), headers=headers) as resp:
                return resp.status
        async with (
            aiohttp.ClientSession() as own_session,
            own_session.post(url, data=body.encode(), headers=headers) as resp,
        ):
            return resp.status

    # --- HTTP plumbing -------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        # A fresh Application per start(): aiohttp apps cannot be re-run after cleanup.
        app = web.Application()
        app.router.add_get("/", self._handle_root)
        app.router.add_route("*", "/twirp/{route:.*}", self._handle_twirp)
        return app

    async def _handle_root(self, _request: web.Request) -> web.Response:
        """livekit-server answers ``GET /`` with "OK"; handy as a health probe."""
        return web.Response(text="OK")

    async def _handle_twirp(self, request: web.Request) -> web.Response:
        service_path, _, method = request.match_info["route"].partition("/")
        record = RecordedRequest(
            service=service_path.removeprefix("livekit."),
            method=method,
            request_id=request.headers.get(REQUEST_ID_HEADER),
        )
        # Recorded before the slow() delay so calls cut short by down() still show up.
        self.requests.append(record)
        self._arrived.set()
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        if method in self._hanging:
            await self._recovered.wait()
        try:
            record.token, record.claims = self._authenticate(request)
        except _AuthRejected as rejected:
            record.status = 401
            # The real middleware writes err.Error() as text/plain, not Twirp JSON.
            return web.Response(status=401, text=str(rejected))
        try:
            response = await self._dispatch(request, record, service_path)
        except TwirpFault as fault:
            record.status, record.error_code = fault.status, fault.code
            return fault.to_response()
        record.status = response.status
        return response

    def _authenticate(self, request: web.Request) -> tuple[str | None, Claims | None]:
        """Mirror APIKeyAuthMiddleware: no token passes through without grants."""
        header = request.headers.get("Authorization", "")
        if header:
            if not header.startswith("Bearer "):
                raise _AuthRejected("invalid authorization header. Must start with Bearer ")
            token = header.removeprefix("Bearer ")
        else:
            token = request.query.get("access_token", "")
        if not token:
            return None, None
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _AuthRejected("invalid authorization token") from exc
        issuer = unverified.get("iss", "")
        if issuer != self.api_key:
            raise _AuthRejected(f"invalid API key: {issuer}")
        try:
            claims = self._verifier.verify(token)
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise _AuthRejected(f"invalid token: {token}, error: {exc}") from exc
        return token, claims

    async def _dispatch(
        self, request: web.Request, record: RecordedRequest, service_path: str
    ) -> web.Response:
        path = request.path
        invalid_route = {"twirp_invalid_route": f"{request.method} {path}"}
        if request.method != "POST":
            raise TwirpFault(
                "bad_route",
                f'unsupported method "{request.method}" (only POST is allowed)',
                meta=invalid_route,
            )
        route = None
        if service_path.startswith("livekit."):
            route = self._routes.get((record.service, record.method))
        if route is None:
            raise TwirpFault("bad_route", f'no handler for path "{path}"', meta=invalid_route)
        content_type = request.content_type
        if content_type not in (PROTOBUF_CONTENT_TYPE, JSON_CONTENT_TYPE):
            raise TwirpFault(
                "bad_route",
                f'unexpected Content-Type: "{request.headers.get("Content-Type", "")}"',
                meta=invalid_route,
            )
        as_json = content_type == JSON_CONTENT_TYPE
        body = await request.read()
        try:
            if as_json:
                message = json_format.Parse(body, route.request_type(), ignore_unknown_fields=True)
            else:
                message = route.request_type.FromString(body)
        except (DecodeError, json_format.ParseError, UnicodeDecodeError) as exc:
            kind = "json" if as_json else "protobuf"
            raise TwirpFault("malformed", f"the {kind} request could not be decoded") from exc
        record.request = message

        fault = self._take_fault(record.service, record.method)
        if fault is not None:
            raise TwirpFault(fault.code, fault.msg, status=fault.status)

        result = route.handler(message, record.claims)
        if as_json:
            return web.Response(
                text=json_format.MessageToJson(result, preserving_proto_field_name=True),
                content_type=JSON_CONTENT_TYPE,
            )
        return web.Response(body=result.SerializeToString(), content_type=PROTOBUF_CONTENT_TYPE)

    def _take_fault(self, service: str, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method and fault.service in (None, service):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # --- state internals -----------------------------------------------------------------

    def _get_or_create_room(self, name: str) -> lk_models.Room:
        room = self.rooms.get(name)
        if room is None:
            now_ms = _now_ms()
            room = lk_models.Room(
                sid=new_id("RM_"),
                name=name,
                creation_time=now_ms // 1000,
                creation_time_ms=now_ms,
                empty_timeout=self.default_empty_timeout,
                departure_timeout=self.default_departure_timeout,
            )
            self.rooms[name] = room
            self.participants[name] = {}
        return room

    def _refresh_counts(self, room_name: str) -> None:
        room = self.rooms.get(room_name)
        if room is None:
            return
        members = self.participants.get(room_name, {}).values()
        room.num_participants = len(members)
        room.num_publishers = sum(1 for p in members if p.is_publisher)

    def _require_room(self, name: str) -> lk_models.Room:
        room = self.rooms.get(name)
        if room is None:
            raise TwirpFault("not_found", MSG_ROOM_NOT_FOUND)
        return room

    def _require_participant(
        self, room: str, identity: str, msg: str = MSG_PARTICIPANT_NOT_FOUND
    ) -> lk_models.ParticipantInfo:
        participant = self.participants.get(room, {}).get(identity)
        if participant is None:
            raise TwirpFault("not_found", msg)
        return participant

    # --- RoomService ---------------------------------------------------------------------

    def _create_room(self, req: lk_room.CreateRoomRequest, claims: Claims | None) -> lk_models.Room:
        _ensure_create(claims)
        room = self._get_or_create_room(req.name)
        # StandardRoomAllocator.CreateRoom applies non-zero fields to an existing room too.
        if req.empty_timeout > 0:
            room.empty_timeout = req.empty_timeout
        if req.departure_timeout > 0:
            room.departure_timeout = req.departure_timeout
        if req.max_participants > 0:
            room.max_participants = req.max_participants
        if req.metadata:
            room.metadata = req.metadata
        return room

    def _list_rooms(
        self, req: lk_room.ListRoomsRequest, claims: Claims | None
    ) -> lk_room.ListRoomsResponse:
        _ensure_list(claims)
        wanted = set(req.names)
        rooms = [r for r in self.rooms.values() if not wanted or r.name in wanted]
        return lk_room.ListRoomsResponse(rooms=rooms)

    def _delete_room(
        self, req: lk_room.DeleteRoomRequest, claims: Claims | None
    ) -> lk_room.DeleteRoomResponse:
        _ensure_create(claims)
        if req.room not in self.rooms:
            if self.delete_missing_room == "ok":
                return lk_room.DeleteRoomResponse()
            raise TwirpFault("not_found", MSG_ROOM_NOT_FOUND)
        self.close_room(req.room)
        return lk_room.DeleteRoomResponse()

    def _list_participants(
        self, req: lk_room.ListParticipantsRequest, claims: Claims | None
    ) -> lk_room.ListParticipantsResponse:
        _ensure_admin(claims, req.room)
        if req.room not in self.rooms and self.missing_room_participants == "not_found":
            raise TwirpFault("not_found", MSG_ROOM_NOT_FOUND)
        members = self.participants.get(req.room, {}).values()
        return lk_room.ListParticipantsResponse(participants=list(members))

    def _get_participant(
        self, req: lk_room.RoomParticipantIdentity, claims: Claims | None
    ) -> lk_models.ParticipantInfo:
        _ensure_admin(claims, req.room)
        return self._require_participant(req.room, req.identity)

    def _remove_participant(
        self, req: lk_room.RoomParticipantIdentity, claims: Claims | None
    ) -> lk_room.RemoveParticipantResponse:
        _ensure_admin(claims, req.room)
        self._require_participant(req.room, req.identity, "participant not found")
        self.remove_participant_directly(req.room, req.identity)
        return lk_room.RemoveParticipantResponse()

    def _mute_published_track(
        self, req: lk_room.MuteRoomTrackRequest, claims: Claims | None
    ) -> lk_room.MuteRoomTrackResponse:
        _ensure_admin(claims, req.room)
        participant = self._require_participant(req.room, req.identity)
        track = next((t for t in participant.tracks if t.sid == req.track_sid), None)
        if track is None:
            raise TwirpFault("not_found", "track is not found")
        if not req.muted and not self.enable_remote_unmute:
            raise TwirpFault("failed_precondition", "remote unmute not enabled")
        track.muted = req.muted
        return lk_room.MuteRoomTrackResponse(track=track)

    def _update_participant(
        self, req: lk_room.UpdateParticipantRequest, claims: Claims | None
    ) -> lk_models.ParticipantInfo:
        _ensure_admin(claims, req.room)
        participant = self._require_participant(req.room, req.identity)
        if req.metadata:
            participant.metadata = req.metadata
        if req.name:
            participant.name = req.name
        if req.HasField("permission"):
            participant.permission.CopyFrom(req.permission)
            # livekit-server unpublishes the tracks the new permission no longer allows.
            kept = [t for t in participant.tracks if _allows(participant.permission, t.source)]
            del participant.tracks[:]
            participant.tracks.extend(kept)
            participant.is_publisher = bool(kept)
            self._refresh_counts(req.room)
        for key, value in req.attributes.items():
            if value:
                participant.attributes[key] = value
            else:
                participant.attributes.pop(key, None)
        participant.version += 1
        return participant

    def _update_room_metadata(
        self, req: lk_room.UpdateRoomMetadataRequest, claims: Claims | None
    ) -> lk_models.Room:
        _ensure_admin(claims, req.room)
        room = self._require_room(req.room)
        room.metadata = req.metadata
        return room

    def _send_data(
        self, req: lk_room.SendDataRequest, claims: Claims | None
    ) -> lk_room.SendDataResponse:
        _ensure_admin(claims, req.room)
        if len(req.nonce) not in (0, 16):
            raise TwirpFault(
                "invalid_argument",
                f"nonce should be 16-bytes or not present, got: {len(req.nonce)} bytes",
            )
        self._require_room(req.room)
        self.sent_data.append(
            SentData(
                room=req.room,
                data=req.data,
                topic=req.topic,
                destination_identities=tuple(req.destination_identities),
                destination_sids=tuple(req.destination_sids),
                kind=req.kind,
                nonce=req.nonce,
            )
        )
        return lk_room.SendDataResponse()

    # --- Ingress -------------------------------------------------------------------------

    def _create_ingress(
        self, req: lk_ingress.CreateIngressRequest, claims: Claims | None
    ) -> lk_ingress.IngressInfo:
        _ensure_ingress_admin(claims)
        input_type = lk_ingress.IngressInput
        if req.input_type == input_type.RTMP_INPUT:
            url = self.rtmp_base_url
        elif req.input_type == input_type.WHIP_INPUT:
            url = self.whip_base_url
        elif req.input_type == input_type.URL_INPUT:
            if not req.url:
                raise TwirpFault("invalid_argument", "invalid ingress: missing URL parameter")
            scheme = req.url.split(":", 1)[0].lower()
            if scheme not in ("http", "https", "srt"):
                raise TwirpFault(
                    "invalid_argument", f"invalid ingress: invalid url scheme {scheme}"
                )
            url = req.url
        else:
            raise TwirpFault("invalid_argument", "invalid ingress type")
        info = lk_ingress.IngressInfo(
            ingress_id=new_id("IN_"),
            name=req.name,
            stream_key="" if req.input_type == input_type.URL_INPUT else new_id(""),
            url=url,
            input_type=req.input_type,
            room_name=req.room_name,
            participant_identity=req.participant_identity,
            participant_name=req.participant_name,
            participant_metadata=req.participant_metadata,
            reusable=req.input_type != input_type.URL_INPUT,
            state=lk_ingress.IngressState(status=lk_ingress.IngressState.Status.ENDPOINT_INACTIVE),
        )
        if req.HasField("audio"):
            info.audio.CopyFrom(req.audio)
        if req.HasField("video"):
            info.video.CopyFrom(req.video)
        if req.HasField("enabled"):
            info.enabled = req.enabled
        if req.HasField("enable_transcoding"):
            info.enable_transcoding = req.enable_transcoding
        _apply_transcoding_defaults(info)
        self.ingresses[info.ingress_id] = info
        return info

    def _require_ingress(self, ingress_id: str) -> lk_ingress.IngressInfo:
        info = self.ingresses.get(ingress_id)
        if info is None:
            raise TwirpFault("not_found", MSG_INGRESS_NOT_FOUND)
        return info

    def _update_ingress(
        self, req: lk_ingress.UpdateIngressRequest, claims: Claims | None
    ) -> lk_ingress.IngressInfo:
        _ensure_ingress_admin(claims)
        info = self._require_ingress(req.ingress_id)
        if not info.reusable:
            raise TwirpFault("invalid_argument", "ingress is not reusable and cannot be modified")
        for name in ("name", "room_name", "participant_identity", "participant_name"):
            if getattr(req, name):
                setattr(info, name, getattr(req, name))
        if req.participant_metadata:
            info.participant_metadata = req.participant_metadata
        if req.HasField("enable_transcoding"):
            info.enable_transcoding = req.enable_transcoding
        if req.HasField("audio"):
            info.audio.CopyFrom(req.audio)
        if req.HasField("video"):
            info.video.CopyFrom(req.video)
        if req.HasField("enabled"):
            info.enabled = req.enabled
        _apply_transcoding_defaults(info)
        return info

    def _list_ingress(
        self, req: lk_ingress.ListIngressRequest, claims: Claims | None
    ) -> lk_ingress.ListIngressResponse:
        _ensure_ingress_admin(claims)
        if req.ingress_id:
            return lk_ingress.ListIngressResponse(items=[self._require_ingress(req.ingress_id)])
        items = [
            info
            for info in self.ingresses.values()
            if not req.room_name or info.room_name == req.room_name
        ]
        return lk_ingress.ListIngressResponse(items=items)

    def _delete_ingress(
        self, req: lk_ingress.DeleteIngressRequest, claims: Claims | None
    ) -> lk_ingress.IngressInfo:
        _ensure_ingress_admin(claims)
        info = self._require_ingress(req.ingress_id)
        del self.ingresses[req.ingress_id]
        info.state.status = lk_ingress.IngressState.Status.ENDPOINT_INACTIVE
        return info

    # --- Egress --------------------------------------------------------------------------

    def _start_room_composite_egress(
        self, req: lk_egress.RoomCompositeEgressRequest, claims: Claims | None
    ) -> lk_egress.EgressInfo:
        _ensure_record(claims)
        room = self._require_room(req.room_name)
        now_ns = time.time_ns()
        info = lk_egress.EgressInfo(
            egress_id=new_id("EG_"),
            room_id=room.sid,
            room_name=room.name,
            status=lk_egress.EgressStatus.EGRESS_STARTING,
            updated_at=now_ns,
            room_composite=req,
        )
        for output in req.stream_outputs:
            for url in output.urls:
                info.stream_results.append(
                    lk_egress.StreamInfo(url=url, status=lk_egress.StreamInfo.Status.ACTIVE)
                )
        for image in req.image_outputs:
            # Without a prefix the egress names the images after the room and the start time.
            prefix = image.filename_prefix or time.strftime(f"{room.name}-%Y-%m-%dT%H%M%S")
            info.image_results.append(lk_egress.ImagesInfo(filename_prefix=prefix))
        self.egresses[info.egress_id] = info
        return info

    def _list_egress(
        self, req: lk_egress.ListEgressRequest, claims: Claims | None
    ) -> lk_egress.ListEgressResponse:
        _ensure_record(claims)
        items = [
            info
            for info in self.egresses.values()
            if (not req.room_name or info.room_name == req.room_name)
            and (not req.egress_id or info.egress_id == req.egress_id)
            and (not req.active or info.status in _ACTIVE_EGRESS)
        ]
        return lk_egress.ListEgressResponse(items=items)

    def _stop_egress(
        self, req: lk_egress.StopEgressRequest, claims: Claims | None
    ) -> lk_egress.EgressInfo:
        _ensure_record(claims)
        info = self.egresses.get(req.egress_id)
        if info is None:
            raise TwirpFault("not_found", MSG_EGRESS_NOT_FOUND)
        if info.status not in _ACTIVE_EGRESS:
            status_name = lk_egress.EgressStatus.Name(info.status)
            raise TwirpFault(
                "failed_precondition", f"egress with status {status_name} cannot be stopped"
            )
        # The egress worker acknowledges a stop with EGRESS_ENDING; use
        # set_egress_status(..., EGRESS_COMPLETE) to model it finishing.
        return self.set_egress_status(req.egress_id, lk_egress.EgressStatus.EGRESS_ENDING)


_SNAPSHOT_COLOURS = ((200, 40, 90), (40, 120, 200), (60, 170, 90))


def _snapshot_path(output: lk_egress.ImageOutput, result: lk_egress.ImagesInfo) -> Path:
    """Where LiveKit's egress writes an image output's next snapshot (its image sink: the
    prefix, a suffix by ``filename_suffix``, and ".jpeg" for the JPEG codec)."""
    prefix, index = result.filename_prefix, result.image_count
    suffix = output.filename_suffix
    if suffix == lk_egress.ImageFileSuffix.IMAGE_SUFFIX_NONE_OVERWRITE:
        return Path(f"{prefix}.jpeg")
    if suffix == lk_egress.ImageFileSuffix.IMAGE_SUFFIX_TIMESTAMP:
        moment = time.time()
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(moment))
        return Path(f"{prefix}_{stamp}{int(moment * 1000) % 1000:03d}.jpeg")
    return Path(f"{prefix}_{index:05d}.jpeg")


def _apply_transcoding_defaults(info: lk_ingress.IngressInfo) -> None:
    """Mirror ingress.go updateEnableTranscoding (WHIP defaults to pass-through)."""
    if info.HasField("enable_transcoding"):
        info.bypass_transcoding = not info.enable_transcoding
    elif info.input_type == lk_ingress.IngressInput.WHIP_INPUT:
        info.enable_transcoding = False
        info.bypass_transcoding = True
    else:
        info.enable_transcoding = True

"""Streaming from OBS: one LiveKit ingress (RTMP or WHIP) per stream page.

How an ingress meets golive's rooms. Room names change with every go-live
(`live-<slug>-<unix>`), while a streamer types their key into OBS once. So the ingress is
persistent and reusable, and it always points at a room: the live room while the stream is live,
otherwise a fresh, never-used name (it is "armed"). LiveKit's UpdateIngress changes the room of
an ingress for its next connection, so:

* OBS starts publishing → LiveKit's ingress joins the armed room and sends `ingress_started`
  (and `track_published` from a participant of kind INGRESS) → golive goes live *in that room*
  (a room picker makes `StreamService.go_live` use it), with the same checks and fees as
  `/stream golive`.
* `/stream golive` from Discord or the studio also uses the armed room, so OBS can join at any time.
* The stream ends → the ingress is armed with a fresh name for the next time.
* OBS publishing also takes the session on air (OBS sends video from its first second), so the
  stream is announced then: `StreamMediaStarted` (core/live/presence.py).
* OBS stops → `ingress_ended` → the auto-end grace of core/live_events.py starts.

The stream key is never stored or logged by golive: it is read from LiveKit when its owner asks.
`reset` rotates it: a new ingress is created, the old one deleted (its key stops working at once).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from livekit import api
from livekit.protocol import models as lk_models
from livekit.protocol.webhook import WebhookEvent

from core.kernel.clock import Clock
from core.kernel.errors import Conflict, GoLiveError, LiveKitUnavailable
from core.kernel.events import EventBus
from core.kernel.i18n import N_
from core.kernel.timefmt import from_db, to_db
from core.live.presence import LiveEventService
from core.live.webhooks import AfterCommit
from core.livekit import IngressProtocol, LiveKitGateway, obs_identity
from core.store import Database, Row, SyncTransaction, record
from core.streams import Stream, StreamEvent, StreamService

log = logging.getLogger(__name__)

T = TypeVar("T")

PROTOCOLS: tuple[IngressProtocol, ...] = ("rtmp", "whip")
INGRESS_NOT_SET_UP = N_(
    "The streaming server refused to set up OBS streaming (%(refusal)s). An admin needs to run "
    "LiveKit's ingress service (livekit-ingress, with Redis); see “Streaming from OBS” in "
    "golive's README."
)


# Told when OBS started publishing but golive could not take the stream live: (owner, reason).
@dataclass(frozen=True)
class ObsProblem:
    """OBS connected but could not take the stream live (no credits, banned, …)."""

    owner_id: int
    problem: str


@dataclass(frozen=True)
class ObsSetup:
    """What a streamer types into OBS. Only ever shown to the stream's owner."""

    protocol: IngressProtocol
    server_url: str
    stream_key: str
    publishing: bool
    problem: str | None
    new_key: bool


@dataclass(frozen=True)
class _IngressRow:
    stream_id: int
    ingress_id: str
    protocol: IngressProtocol
    identity: str
    room_name: str
    problem: str | None


class IngressService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        livekit: LiveKitGateway,
        streams: StreamService,
        live: LiveEventService,
        events: EventBus | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._livekit = livekit
        self._streams = streams
        self._live = live
        # Told when OBS could not take a stream live (the bot tells the streamer).
        self._events = events or EventBus()
        streams.add_room_picker(self._armed_room)

    # -- what the streamer asks for ------------------------------------------------------------

    async def setup(
        self,
        owner_id: int,
        display_name: str,
        protocol: IngressProtocol | None = None,
        *,
        reset: bool = False,
    ) -> ObsSetup:
        """The member's OBS settings: the existing ingress, or a new one (new key) when there is
        none, when `reset`, or when they switch between RTMP and WHIP."""
        stream = await self._streams.get_by_owner(owner_id)
        row = await self._row(stream.id)
        if row is not None and not reset and protocol in (None, row.protocol):
            info = await self._guarded(self._livekit.get_ingress(row.ingress_id))
            if info is not None:
                return _setup(row.protocol, info, problem=row.problem, new_key=False)
            log.warning("ingress of stream %s is gone from LiveKit; making a new one", stream.slug)
        chosen: IngressProtocol = protocol or (row.protocol if row else "rtmp")
        return await self._replace(stream, display_name, chosen, row)

    async def stream_key(self, owner_id: int, display_name: str) -> str | None:
        """The owner's key for `POST /api/live/create`; None when LiveKit can't make one now."""
        try:
            return (await self.setup(owner_id, display_name)).stream_key
        except LiveKitUnavailable:
            return None

    async def publishing(self, stream_id: int) -> bool:
        row = await self._db.fetch_one(
            "SELECT publishing_since FROM stream_ingress WHERE stream_id = ?", (stream_id,)
        )
        return row is not None and row["publishing_since"] is not None

    async def live_info(self, stream_id: int) -> api.IngressInfo | None:
        """The stream's ingress as LiveKit reports it now (state, measured input); None if none."""
        row = await self._row(stream_id)
        return await self._livekit.get_ingress(row.ingress_id) if row else None

    async def input_video(self, stream_id: int) -> tuple[int, int, float, int] | None:
        """(width, height, fps, bitrate) of OBS's video as the ingress last reported it."""
        row = await self._db.fetch_one(
            "SELECT video_width, video_height, video_fps, video_bitrate, publishing_since"
            " FROM stream_ingress WHERE stream_id = ?",
            (stream_id,),
        )
        if row is None or row["publishing_since"] is None or not row["video_width"]:
            return None
        return (row["video_width"], row["video_height"], row["video_fps"], row["video_bitrate"])

    # -- creating and rotating -----------------------------------------------------------------

    async def _replace(
        self,
        stream: Stream,
        display_name: str,
        protocol: IngressProtocol,
        old: _IngressRow | None,
    ) -> ObsSetup:
        room = stream.room_name if stream.active and stream.room_name else None
        room = room or await self._fresh_room(stream.slug)
        identity = obs_identity(stream.owner_id)
        info = await self._guarded(
            self._livekit.create_ingress(
                input_type=protocol,
                name=f"golive {stream.slug}",
                room_name=room,
                identity=identity,
                participant_name=display_name,
            )
        )
        try:
            if old is not None:
                # The old key must stop working before the new one is handed out.
                await self._livekit.delete_ingress(old.ingress_id)
            saved = await self._save(stream.id, old, info.ingress_id, protocol, identity, room)
        except BaseException:
            await self._delete_quietly(info.ingress_id)
            raise
        if not saved:
            # Another /stream obs of the same member won the race; show theirs.
            await self._delete_quietly(info.ingress_id)
            raise Conflict("Your OBS settings changed meanwhile. Run `/stream obs` again.")
        log.info("OBS ingress (%s) ready for stream %s", protocol, stream.slug)
        return _setup(protocol, info, problem=None, new_key=True)

    async def _save(
        self,
        stream_id: int,
        old: _IngressRow | None,
        ingress_id: str,
        protocol: IngressProtocol,
        identity: str,
        room: str,
    ) -> bool:
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            if old is None:
                return bool(
                    await tx.execute(
                        "INSERT INTO stream_ingress (stream_id, ingress_id, input_type,"
                        " participant_identity, room_name, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stream_id) DO NOTHING",
                        (stream_id, ingress_id, protocol, identity, room, now, now),
                    )
                )
            return bool(
                await tx.execute(
                    "UPDATE stream_ingress SET ingress_id = ?, input_type = ?,"
                    " participant_identity = ?, room_name = ?, publishing_since = NULL,"
                    " problem = NULL, problem_at = NULL, updated_at = ?"
                    " WHERE stream_id = ? AND ingress_id = ?",
                    (ingress_id, protocol, identity, room, now, stream_id, old.ingress_id),
                )
            )

    async def _delete_quietly(self, ingress_id: str) -> None:
        try:
            await self._livekit.delete_ingress(ingress_id)
        except LiveKitUnavailable:
            log.warning("could not delete ingress %s; delete it by hand", ingress_id)

    async def _guarded(self, call: Awaitable[T]) -> T:
        """LiveKit refusing (rather than being down) means its ingress service is missing."""
        try:
            return await call
        except LiveKitUnavailable as error:
            if error.refused and error.code != error.NOT_FOUND:
                raise LiveKitUnavailable(
                    INGRESS_NOT_SET_UP, code=error.code, refusal=error.code
                ) from error
            raise

    # -- rooms ---------------------------------------------------------------------------------

    async def _armed_room(self, stream: Stream) -> str | None:
        """The go-live room for a stream with an ingress: the one the ingress points at."""
        row = await self._row(stream.id)
        return row.room_name if row else None

    async def _fresh_room(self, slug: str) -> str:
        """A room name no session has used (StreamService's rule)."""
        return await self._streams.free_room_name(slug, self._clock.now())

    async def _rearm(self, stream_id: int, *, retry: bool = False) -> None:
        """After a session: point the ingress at a fresh room, so OBS's next start goes live."""
        row = await self._row(stream_id)
        if row is None:
            return
        stream = await self._streams.get_by_id(stream_id)
        if stream.active:
            return
        used = await self._db.fetch_one(
            "SELECT 1 FROM stream_sessions WHERE room_name = ?", (row.room_name,)
        )
        if not used:
            return
        room = await self._fresh_room(stream.slug)
        await self._move(row, room, retry=retry)

    async def _move(self, row: _IngressRow, room: str, *, retry: bool = False) -> None:
        """`retry`: LiveKit not answering raises (the outbox delivers the event again)."""
        try:
            await self._livekit.move_ingress(row.ingress_id, room)
        except LiveKitUnavailable as error:
            # Also tried again when the stream next ends, OBS stops, or the member runs
            # /stream obs.
            log.warning("could not point the ingress of stream %s at %s", row.stream_id, room)
            if retry and not error.refused:
                raise
            return
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE stream_ingress SET room_name = ?, updated_at = ?"
                " WHERE stream_id = ? AND ingress_id = ?",
                (room, to_db(self._clock.now()), row.stream_id, row.ingress_id),
            )

    async def follow_stream(self, event: StreamEvent) -> None:
        """Durable (the outbox delivers it at least once): both moves compare with the state
        now, so a redelivery moves nothing, and a late one never points OBS at a room that is
        over."""
        if event.kind == "ended":
            await self._rearm(event.stream.id, retry=True)
            return
        row = await self._row(event.stream.id)
        if row is None or row.room_name == event.session.room_name:
            return
        if (await self._streams.get_by_id(event.stream.id)).room_name != event.session.room_name:
            return  # that session is over: the ended event re-arms the ingress
        # Went live somewhere else (the armed name was stale): OBS follows.
        await self._move(row, event.session.room_name, retry=True)

    # -- webhooks (on the database thread, inside the event's transaction) ----------------------

    def apply_ingress_started(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime
    ) -> AfterCommit | None:
        info = event.ingress_info
        row = _owner_of_ingress(tx, info.ingress_id)
        if row is None:
            return None
        video = info.state.video
        started = info.state.started_at or event.created_at * 1_000_000_000
        tx.execute(
            "UPDATE stream_ingress SET publishing_since = ?, video_width = ?, video_height = ?,"
            " video_fps = ?, video_bitrate = ?, updated_at = ? WHERE ingress_id = ?",
            (
                started,
                video.width or None,
                video.height or None,
                video.framerate or None,
                video.average_bitrate or None,
                to_db(now),
                info.ingress_id,
            ),
        )
        room = info.room_name or row["room_name"]
        owner_id, identity = row["owner_id"], row["participant_identity"]
        return lambda: self._go_live_from_obs(owner_id, room, identity)

    def apply_track_published(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime
    ) -> AfterCommit | None:
        # ingress_started can be lost; a track from the ingress participant says the same.
        participant = event.participant
        if participant.kind != lk_models.ParticipantInfo.Kind.INGRESS or not event.room.name:
            return None
        row = tx.fetch_one(
            "SELECT s.owner_id, i.participant_identity FROM stream_ingress i"
            " JOIN streams s ON s.id = i.stream_id"
            " WHERE i.room_name = ? AND i.participant_identity = ?",
            (event.room.name, participant.identity),
        )
        if row is None:
            return None
        owner_id, room, identity = row["owner_id"], event.room.name, participant.identity
        return lambda: self._go_live_from_obs(owner_id, room, identity)

    def apply_ingress_ended(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime
    ) -> AfterCommit | None:
        info = event.ingress_info
        row = _owner_of_ingress(tx, info.ingress_id)
        if row is None:
            return None
        since = row["publishing_since"]
        if since is not None and info.state.started_at and info.state.started_at < since:
            return None  # the end of an earlier connection, arriving after a newer start
        tx.execute(
            "UPDATE stream_ingress SET publishing_since = NULL, updated_at = ? WHERE ingress_id = ?",
            (to_db(now), info.ingress_id),
        )
        room = info.room_name or row["room_name"]
        self._live.broadcaster_stopped(tx, room, row["participant_identity"], now)
        stream_id = row["stream_id"]
        return lambda: self._rearm(stream_id)

    # -- going live because OBS started --------------------------------------------------------

    async def _go_live_from_obs(self, owner_id: int, room: str, identity: str) -> None:
        stream = await self._streams.get_by_owner(owner_id)
        if not (stream.active and stream.room_name == room):
            if stream.active:
                log.info("OBS of %s publishes into %s while live elsewhere", stream.slug, room)
                return
            try:
                # The request key makes a repeated trigger (webhook + track) pay once.
                await self._streams.go_live(owner_id, request_key=f"obs:{room}")
            except GoLiveError as error:
                if await self._went_live_meanwhile(owner_id, room, error):
                    return
                await self._note_problem(stream.id, owner_id, error.message)
                return
            await self._note_problem(stream.id, owner_id, None)
            log.info("stream %s went live from OBS", stream.slug)
        now = self._clock.now()
        # OBS sends video from its first second: the stream is on air now (announced once).
        on_air = await self._db.run_transaction(
            lambda tx: self._live.broadcaster_publishing(tx, room, identity, now)
        )
        if on_air is not None:
            await on_air()

    async def _went_live_meanwhile(self, owner_id: int, room: str, error: GoLiveError) -> bool:
        if not isinstance(error, Conflict):
            return False
        stream = await self._streams.get_by_owner(owner_id)
        return stream.active and stream.room_name == room

    async def _note_problem(self, stream_id: int, owner_id: int, problem: str | None) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE stream_ingress SET problem = ?, problem_at = ? WHERE stream_id = ?",
                (problem, to_db(self._clock.now()) if problem else None, stream_id),
            )
            if problem is not None:  # the owner's DM, delivered by the bot
                await record(tx, ObsProblem(owner_id, problem), at=self._clock.now())
        if problem is None:
            return
        log.info("OBS could not take stream %s live: %s", stream_id, problem)
        await self._events.publish(ObsProblem(owner_id, problem))

    async def last_problem(self, stream_id: int) -> tuple[str, datetime] | None:
        row = await self._db.fetch_one(
            "SELECT problem, problem_at FROM stream_ingress WHERE stream_id = ?", (stream_id,)
        )
        if row is None or row["problem"] is None:
            return None
        at = from_db(row["problem_at"])
        assert at is not None  # noqa: S101 - set with the problem
        return row["problem"], at

    async def _row(self, stream_id: int) -> _IngressRow | None:
        row = await self._db.fetch_one(
            "SELECT * FROM stream_ingress WHERE stream_id = ?", (stream_id,)
        )
        return _ingress_row(row) if row else None


def _owner_of_ingress(tx: SyncTransaction, ingress_id: str) -> Row | None:
    if not ingress_id:
        return None
    return tx.fetch_one(
        "SELECT i.*, s.owner_id FROM stream_ingress i JOIN streams s ON s.id = i.stream_id"
        " WHERE i.ingress_id = ?",
        (ingress_id,),
    )


def _ingress_row(row: Row) -> _IngressRow:
    return _IngressRow(
        stream_id=row["stream_id"],
        ingress_id=row["ingress_id"],
        protocol=row["input_type"],
        identity=row["participant_identity"],
        room_name=row["room_name"],
        problem=row["problem"],
    )


def _setup(
    protocol: IngressProtocol, info: api.IngressInfo, *, problem: str | None, new_key: bool
) -> ObsSetup:
    status = info.state.status
    return ObsSetup(
        protocol=protocol,
        server_url=info.url,
        stream_key=info.stream_key,
        publishing=status
        in (
            api.IngressState.Status.ENDPOINT_PUBLISHING,
            api.IngressState.Status.ENDPOINT_BUFFERING,
        ),
        problem=problem,
        new_key=new_key,
    )

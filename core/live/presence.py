"""What happens inside live rooms: viewers, the broadcaster, and ending streams nobody runs.

Two sources feed it. LiveKit's webhooks (through ``WebhookInbox``) say who joined, left or
published video; they can repeat, arrive late or never arrive. The reconciler
(``reconcile_once``, run at start-up and every few seconds while the process lives) compares with
ListRooms / ListParticipants and repairs what the webhooks left wrong.

Late news must not undo fresh news. For every (room, identity) the newest news applied is kept
as an order key: (event time, when that connection started, joined=0 / left=1). A `left` for a
connection beats its own `joined` even within the same second, a re-join beats an older `left`,
and anything older than what is stored is ignored. The reconciler's snapshot overrides presence
but keeps the key, so a webhook newer than the last one applied still counts afterwards.

Going on air: the first time the broadcaster's video is seen in a session (a `track_published`
webhook, a join with tracks, the reconciler's snapshot, an OBS ingress publishing), the session
is claimed on air (`StreamService.claim_media_start`, in the same transaction) and, after the
commit, `StreamMediaStarted` is published: only then is the stream announced and listed.

Auto-end: when the broadcaster is gone (left, or their room closed), a deadline ``grace`` from now
is stored with the session; coming back clears it; the reconciler's tick ends the streams whose
deadline passed. The deadline is in the database, so a restart keeps counting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from livekit.protocol import models as lk_models
from livekit.protocol.webhook import WebhookEvent

from core.kernel.clock import Clock
from core.kernel.errors import Conflict, LiveKitUnavailable, NotFound
from core.kernel.timefmt import from_db, from_db_required, to_db
from core.live.webhooks import AfterCommit, WebhookInbox
from core.livekit import LiveKitGateway, is_audience, is_broadcaster, livekit_trouble, person_key
from core.store import Database, SyncTransaction
from core.streams import Stream, StreamEvent, StreamService

log = logging.getLogger(__name__)

AUTO_END_REASON = "broadcaster_left"

JOINED, LEFT = 0, 1
OrderKey = tuple[int, int, int]


@dataclass(frozen=True)
class Audience:
    """The audience of one session as golive knows it now."""

    session_id: int
    current_viewers: int
    peak_viewers: int
    unique_viewers: int
    broadcaster_present: bool
    broadcaster_video: bool
    auto_end_at: datetime | None


@dataclass(frozen=True)
class _LiveRoom:
    session_id: int
    started_at: datetime
    owner_id: int


def role_of(
    identity: str, owner_id: int, kind: int = lk_models.ParticipantInfo.Kind.STANDARD
) -> str:
    """'broadcaster', 'viewer' or 'other', from the identities golive's tokens carry."""
    if is_broadcaster(identity, owner_id) or kind == lk_models.ParticipantInfo.Kind.INGRESS:
        return "broadcaster"
    if is_audience(identity):
        return "viewer"
    return "other"


def sends_video(participant: lk_models.ParticipantInfo, *, without_track: str = "") -> bool:
    return any(
        track.type == lk_models.TrackType.VIDEO and not track.muted and track.sid != without_track
        for track in participant.tracks
    )


def _order_key(event: WebhookEvent, rank: int) -> OrderKey:
    participant = event.participant
    started_ms = participant.joined_at_ms or participant.joined_at * 1000
    return (event.created_at, started_ms, rank)


class LiveEventService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        livekit: LiveKitGateway,
        streams: StreamService,
        inbox: WebhookInbox,
        *,
        grace: timedelta,
    ) -> None:
        self._db = db
        self._clock = clock
        self._livekit = livekit
        self._streams = streams
        self._inbox = inbox
        self.grace = grace

    # -- reading -------------------------------------------------------------------------------

    async def audience(self, session_id: int) -> Audience:
        row = await self._db.fetch_one(
            "SELECT s.peak_viewers, a.current_viewers, a.broadcaster_present,"
            " a.broadcaster_video, a.auto_end_at,"
            " (SELECT COUNT(*) FROM session_viewers v WHERE v.session_id = s.id) AS unique_viewers"
            " FROM stream_sessions s LEFT JOIN session_audience a ON a.session_id = s.id"
            " WHERE s.id = ?",
            (session_id,),
        )
        if row is None:
            raise NotFound("That stream session does not exist.")
        return Audience(
            session_id=session_id,
            current_viewers=row["current_viewers"] or 0,
            peak_viewers=row["peak_viewers"],
            unique_viewers=row["unique_viewers"],
            broadcaster_present=bool(row["broadcaster_present"]),
            broadcaster_video=bool(row["broadcaster_video"]),
            auto_end_at=from_db(row["auto_end_at"]),
        )

    async def viewer_samples(self, session_id: int) -> list[tuple[int, int]]:
        """(minute of the session, most viewers seen in it), oldest first."""
        rows = await self._db.fetch_all(
            "SELECT minute, viewers FROM viewer_samples WHERE session_id = ? ORDER BY minute",
            (session_id,),
        )
        return [(row["minute"], row["viewers"]) for row in rows]

    # -- webhooks ------------------------------------------------------------------------------

    # Handlers run on the database's thread inside the event's transaction (WebhookInbox).

    def apply_participant_joined(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime
    ) -> AfterCommit | None:
        return self._apply_presence(tx, event, now, present=True, rank=JOINED)

    def apply_participant_left(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime
    ) -> AfterCommit | None:
        return self._apply_presence(tx, event, now, present=False, rank=LEFT)

    def _apply_presence(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime, *, present: bool, rank: int
    ) -> AfterCommit | None:
        live = _live_room(tx, event.room.name)
        participant = event.participant
        if live is None or not participant.identity:
            return None
        role = role_of(participant.identity, live.owner_id, participant.kind)
        if present and role == "viewer":
            # Counted even when the join is late news: this person did watch.
            _count_viewer(tx, live.session_id, participant.identity)
        key = _order_key(event, rank)
        row = tx.fetch_one(
            "SELECT present, order_at, order_joined, order_rank FROM room_participants"
            " WHERE room_name = ? AND identity = ?",
            (event.room.name, participant.identity),
        )
        if row is not None and key < (row["order_at"], row["order_joined"], row["order_rank"]):
            log.info(
                "late %s of %s in %s ignored", event.event, participant.identity, event.room.name
            )
            return None
        video = present and sends_video(participant)
        tx.execute(
            "INSERT INTO room_participants (room_name, identity, role, present, order_at,"
            " order_joined, order_rank, video, video_order_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (room_name, identity) DO UPDATE SET present = excluded.present,"
            " order_at = excluded.order_at, order_joined = excluded.order_joined,"
            " order_rank = excluded.order_rank, video = excluded.video,"
            " video_order_at = CASE WHEN room_participants.video_order_at > excluded.video_order_at"
            " THEN room_participants.video_order_at ELSE excluded.video_order_at END",
            (event.room.name, participant.identity, role, int(present), *key, int(video), key[0]),
        )
        was_present = row is not None and bool(row["present"])
        if role == "viewer":
            delta = int(present) - int(was_present)
            on_air = self._move_viewer_count(tx, event.room.name, live, now, delta)
        else:
            on_air = self._refresh_audience(tx, event.room.name, live, now, viewer_delta=0)
        return self._publish_on_air(live) if on_air else None

    def apply_track_change(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime
    ) -> AfterCommit | None:
        live = _live_room(tx, event.room.name)
        participant = event.participant
        if live is None or event.track.type != lk_models.TrackType.VIDEO:
            return None
        if role_of(participant.identity, live.owner_id, participant.kind) != "broadcaster":
            return None
        if event.event == "track_published":
            video = not event.track.muted
        else:
            video = sends_video(participant, without_track=event.track.sid)
        changed = tx.execute(
            "UPDATE room_participants SET video = ?, video_order_at = ?"
            " WHERE room_name = ? AND identity = ? AND present = 1 AND video_order_at <= ?",
            (int(video), event.created_at, event.room.name, participant.identity, event.created_at),
        )
        if changed and self._refresh_audience(tx, event.room.name, live, now, viewer_delta=0):
            return self._publish_on_air(live)
        return None

    def _publish_on_air(self, live: _LiveRoom) -> AfterCommit:
        """After the commit: tell everyone the session went on air (claimed in the transaction)."""

        async def publish() -> None:
            await self._streams.publish_media_started(live.session_id)

        return publish

    def apply_room_finished(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime
    ) -> AfterCommit | None:
        live = _live_room(tx, event.room.name)
        if live is None:
            return None
        # LiveKit closed the room (everyone gone). The stream ends after the grace unless the
        # broadcaster comes back (joining re-creates the room), as if they had left.
        tx.execute(
            "UPDATE room_participants SET present = 0, video = 0 WHERE room_name = ?",
            (event.room.name,),
        )
        self._refresh_audience(tx, event.room.name, live, now, room_gone=True)
        return None

    # -- broadcasters LiveKit reports outside participant events (OBS ingress, core/ingress.py) --

    def broadcaster_publishing(
        self, tx: SyncTransaction, room_name: str, identity: str, now: datetime
    ) -> AfterCommit | None:
        """LiveKit says this broadcaster (an OBS ingress) publishes into the live room.

        Returns what to run after the commit when that took the session on air."""
        live = _live_room(tx, room_name)
        if live is None:
            return None
        tx.execute(
            "INSERT INTO room_participants (room_name, identity, role, present, video)"
            " VALUES (?, ?, 'broadcaster', 1, 1) ON CONFLICT (room_name, identity) DO UPDATE SET"
            " present = 1, video = 1",
            (room_name, identity),
        )
        return (
            self._publish_on_air(live) if self._refresh_audience(tx, room_name, live, now) else None
        )

    def broadcaster_stopped(
        self, tx: SyncTransaction, room_name: str, identity: str, now: datetime
    ) -> None:
        """A broadcaster stopped sending (OBS ingress ended): the grace starts, as if they left.

        Viewers may keep the room open, so LiveKit's room_finished would never come.
        """
        live = _live_room(tx, room_name)
        if live is None:
            return
        tx.execute(
            "UPDATE room_participants SET present = 0, video = 0"
            " WHERE room_name = ? AND identity = ?",
            (room_name, identity),
        )
        self._refresh_audience(tx, room_name, live, now, room_gone=True)

    # -- reconciling ---------------------------------------------------------------------------

    async def reconcile_once(self) -> list[StreamEvent]:
        """Repair every live stream from LiveKit's view, then end those whose grace ran out.

        If LiveKit can't be reached, counts stay as they are (the deadlines still run: they
        come from news already received).
        """
        try:
            rooms: set[str] | None = await self._livekit.list_room_names()
        except LiveKitUnavailable as error:
            if error.refused:
                log.warning("live counts not reconciled this time: %s", livekit_trouble(error))
            else:
                # Worded like the gateway's outage lines, which golive/livekit_watch.py holds
                # back while it already told the operator LiveKit is down.
                log.warning("LiveKit unreachable; live counts not reconciled this time")
            rooms = None
        if rooms is not None:
            for stream in await self._streams.list_live(limit=1_000_000):
                await self._reconcile_stream(stream, rooms)
        ended = await self.end_overdue()
        await self._inbox.forget_old()
        return ended

    async def _reconcile_stream(self, stream: Stream, rooms: set[str]) -> None:
        room = stream.room_name
        if room is None:
            return
        participants: list[lk_models.ParticipantInfo] = []
        if room in rooms:
            try:
                participants = await self._livekit.list_participants(room)
            except LiveKitUnavailable:
                return
        now = self._clock.now()

        def repair(tx: SyncTransaction) -> AfterCommit | None:
            live = _live_room(tx, room)
            if live is None:
                return None  # ended meanwhile
            self._apply_snapshot(tx, room, live, participants)
            # Webhooks lost: the video LiveKit lists takes the session on air all the same.
            if self._refresh_audience(tx, room, live, now, room_gone=room not in rooms):
                return self._publish_on_air(live)
            return None

        if (follow_up := await self._db.run_transaction(repair)) is not None:
            await follow_up()

    def _apply_snapshot(
        self,
        tx: SyncTransaction,
        room: str,
        live: _LiveRoom,
        participants: list[lk_models.ParticipantInfo],
    ) -> None:
        listed = {p.identity: p for p in participants if p.identity}
        # '' is never an identity; it keeps `NOT IN (...)` valid when the room is empty.
        kept = [*listed] or [""]
        tx.execute(
            "UPDATE room_participants SET present = 0, video = 0"  # noqa: S608 - only placeholders
            f" WHERE room_name = ? AND present = 1 AND identity NOT IN ({', '.join('?' * len(kept))})",
            (room, *kept),
        )
        for identity, participant in listed.items():
            role = role_of(identity, live.owner_id, participant.kind)
            tx.execute(
                "INSERT INTO room_participants (room_name, identity, role, present, video)"
                " VALUES (?, ?, ?, 1, ?) ON CONFLICT (room_name, identity) DO UPDATE SET"
                " present = 1, video = excluded.video",
                (room, identity, role, int(sends_video(participant))),
            )
            if role == "viewer":
                _count_viewer(tx, live.session_id, identity)

    async def end_overdue(self) -> list[StreamEvent]:
        """End the streams whose broadcaster stayed away longer than the grace."""
        rows = await self._db.fetch_all(
            "SELECT s.stream_id, s.room_name FROM session_audience a"
            " JOIN stream_sessions s ON s.id = a.session_id"
            " WHERE a.auto_end_at IS NOT NULL AND a.auto_end_at <= ? AND s.ended_at IS NULL",
            (to_db(self._clock.now()),),
        )
        ended: list[StreamEvent] = []
        for row in rows:
            stream = await self._streams.get_by_id(row["stream_id"])
            if not stream.active or stream.room_name != row["room_name"]:
                continue
            try:
                ended.append(await self._streams.end_stream(stream, AUTO_END_REASON))
            except Conflict:
                continue  # ended meanwhile by its owner or another process
            log.info("stream %s ended: broadcaster gone for %s", stream.slug, self.grace)
        return ended

    # -- the audience row ----------------------------------------------------------------------

    def _move_viewer_count(
        self, tx: SyncTransaction, room: str, live: _LiveRoom, now: datetime, delta: int
    ) -> bool:
        """A viewer came or went: the hot path of a popular stream, so as few statements as can be.

        Viewers don't change the broadcaster's state or the deadline, so only the count moves
        (and the peak and this minute's sample when it went up).
        """
        if delta == 0:
            return False
        row = tx.fetch_one(
            "UPDATE session_audience SET current_viewers = CASE WHEN current_viewers + ? > 0"
            " THEN current_viewers + ? ELSE 0 END,"
            " updated_at = ? WHERE session_id = ? RETURNING current_viewers",
            (delta, delta, to_db(now), live.session_id),
        )
        if row is None:  # the session's first news: build the row from scratch
            return self._refresh_audience(tx, room, live, now)
        self._record_viewers(tx, live, now, int(row["current_viewers"]), rising=delta > 0)
        return False

    def _record_viewers(
        self, tx: SyncTransaction, live: _LiveRoom, now: datetime, viewers: int, *, rising: bool
    ) -> None:
        if rising:
            tx.execute(
                "UPDATE stream_sessions SET peak_viewers = ? WHERE id = ? AND peak_viewers < ?",
                (viewers, live.session_id, viewers),
            )
        minute = max(0, int((now - live.started_at).total_seconds() // 60))
        tx.execute(
            "INSERT INTO viewer_samples (session_id, minute, viewers) VALUES (?, ?, ?)"
            " ON CONFLICT (session_id, minute) DO UPDATE SET"
            " viewers = CASE WHEN viewer_samples.viewers > excluded.viewers"
            " THEN viewer_samples.viewers ELSE excluded.viewers END",
            (live.session_id, minute, viewers),
        )

    def _refresh_audience(
        self,
        tx: SyncTransaction,
        room: str,
        live: _LiveRoom,
        now: datetime,
        *,
        viewer_delta: int | None = None,
        room_gone: bool = False,
    ) -> bool:
        """Bring the session's audience row up to date with room_participants.

        Returns True when this took the session on air (the broadcaster's first video): the
        caller publishes that after the commit.

        With ``viewer_delta`` (one webhook's change) the viewer count moves by it: a popular
        room has thousands of rows and counting them on every event would be the hot path's
        main cost. Without it (reconciler, room closed) the viewers are counted afresh, which
        also repairs any drift.
        """
        previous = tx.fetch_one(
            "SELECT current_viewers, broadcaster_seen, broadcaster_video, auto_end_at"
            " FROM session_audience"
            " WHERE session_id = ?",
            (live.session_id,),
        )
        if viewer_delta is None or previous is None:
            counted = tx.fetch_one(
                "SELECT COUNT(*) AS n FROM room_participants"
                " WHERE room_name = ? AND role = 'viewer' AND present = 1",
                (room,),
            )
            viewers = int(counted["n"]) if counted else 0
        else:
            viewers = max(0, int(previous["current_viewers"]) + viewer_delta)
        broadcaster = tx.fetch_one(
            "SELECT COUNT(*) AS present, COALESCE(MAX(video), 0) AS video FROM room_participants"
            " WHERE room_name = ? AND role = 'broadcaster' AND present = 1",
            (room,),
        )
        assert broadcaster is not None  # noqa: S101 - an aggregate always has a row
        present = bool(broadcaster["present"])
        seen = present or bool(previous and previous["broadcaster_seen"])
        deadline = previous["auto_end_at"] if previous else None
        if present:
            deadline = None
        elif deadline is None and (seen or room_gone):
            deadline = to_db(now + self.grace)
        tx.execute(
            "INSERT INTO session_audience (session_id, current_viewers, broadcaster_present,"
            " broadcaster_seen, broadcaster_video, auto_end_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET"
            " current_viewers = excluded.current_viewers,"
            " broadcaster_present = excluded.broadcaster_present,"
            " broadcaster_seen = excluded.broadcaster_seen,"
            " broadcaster_video = excluded.broadcaster_video,"
            " auto_end_at = excluded.auto_end_at, updated_at = excluded.updated_at",
            (
                live.session_id,
                viewers,
                int(present),
                int(seen),
                int(broadcaster["video"]),
                deadline,
                to_db(now),
            ),
        )
        self._record_viewers(tx, live, now, viewers, rising=True)
        video = bool(broadcaster["video"])
        had_video = previous is not None and bool(previous["broadcaster_video"])
        return video and not had_video and self._streams.claim_media_start(tx, live.session_id, now)


def _live_room(tx: SyncTransaction, room_name: str) -> _LiveRoom | None:
    """The open session using this room, or None (a room of an ended session, or not ours)."""
    if not room_name:
        return None
    row = tx.fetch_one(
        "SELECT s.id, s.started_at, st.owner_id FROM stream_sessions s"
        " JOIN streams st ON st.id = s.stream_id"
        " WHERE s.room_name = ? AND s.ended_at IS NULL",
        (room_name,),
    )
    if row is None:
        return None
    started = from_db_required(row["started_at"])
    return _LiveRoom(session_id=row["id"], started_at=started, owner_id=row["owner_id"])


def _count_viewer(tx: SyncTransaction, session_id: int, identity: str) -> None:
    tx.execute(
        "INSERT INTO session_viewers (session_id, viewer) VALUES (?, ?)"
        " ON CONFLICT (session_id, viewer) DO NOTHING",
        (session_id, person_key(identity)),
    )

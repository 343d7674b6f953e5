"""The stage: viewers raise a hand, the streamer (or a moderator) invites them, and a guest who
accepts publishes beside the streamer until they leave or are taken off.

Least privilege: a guest's token stays a viewer token (no publish rights). While they are on
stage, their one watching connection in that one room is allowed camera, microphone and screen
through LiveKit's UpdateParticipant; taking them off stage revokes it the same way, so what they
hold can't publish again. LiveKit is changed first and the database second: if LiveKit can't be
reached nothing changes, and a stage the database shows is never more than LiveKit allows.

Hands, invitations and who is on stage live in the database (several web processes must agree)
and belong to one session: a new go-live starts with an empty queue and stage.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from livekit.protocol import models as lk_models
from livekit.protocol.webhook import WebhookEvent

from core.config import StageSettings
from core.kernel.clock import Clock
from core.kernel.errors import Conflict, Forbidden, InvalidInput, LiveKitUnavailable
from core.kernel.events import EventBus
from core.kernel.i18n import N_, Phrase
from core.kernel.timefmt import from_db, from_db_required, human_duration, to_db
from core.livekit import STAGE_SOURCES, LiveKitGateway, is_viewer_of
from core.moderation import ModerationService, SanctionEvent, record_action
from core.store import Database, Row, SyncTransaction, Transaction, record
from core.streams import Stream, StreamEnded, StreamService

log = logging.getLogger(__name__)

# The data topic that tells pages the stage changed (they fetch the state again).
STAGE_TOPIC = "stage"
# What a sanction did to a member, as in "A moderator has banned you" and "Bob is banned".
SANCTIONED = {
    "ban": N_("banned"),
    "timeout": N_("timed out"),
    "kick": N_("removed from streams"),
}
NAME_MAX = 80

LeftReason = Literal["left", "removed", "ended", "sanctioned", "disconnected"]
MuteSource = Literal["camera", "microphone", "screen_share", "all"]

_MUTED_SOURCES: dict[str, tuple[int, ...]] = {
    "camera": (lk_models.TrackSource.CAMERA,),
    "microphone": (lk_models.TrackSource.MICROPHONE,),
    "screen_share": (lk_models.TrackSource.SCREEN_SHARE, lk_models.TrackSource.SCREEN_SHARE_AUDIO),
}


@dataclass(frozen=True)
class Member:
    """Someone signed in (web) or in Discord, as the stage names them."""

    user_id: int
    display_name: str


@dataclass(frozen=True)
class Hand:
    user_id: int
    display_name: str
    raised_at: datetime


@dataclass(frozen=True)
class Invitation:
    id: int
    user_id: int
    display_name: str
    invited_by: int
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Guest:
    user_id: int
    display_name: str
    identity: str  # the LiveKit participant allowed to publish
    joined_at: datetime
    left_at: datetime | None


@dataclass(frozen=True)
class StageState:
    """The stage of a stream's current session (empty when it is offline)."""

    live: bool
    max_guests: int
    hands: list[Hand]
    invitations: list[Invitation]
    guests: list[Guest]

    def guest(self, user_id: int) -> Guest | None:
        return next((g for g in self.guests if g.user_id == user_id), None)

    def invitation(self, user_id: int) -> Invitation | None:
        return next((i for i in self.invitations if i.user_id == user_id), None)

    def hand(self, user_id: int) -> Hand | None:
        return next((h for h in self.hands if h.user_id == user_id), None)


@dataclass(frozen=True)
class GuestTime:
    """How long one member was on a stage (all their stretches together)."""

    user_id: int
    display_name: str
    seconds: int


@dataclass(frozen=True)
class StageChanged:
    """Hands, invitations or guests of a live stream changed (pages refresh their view)."""

    stream: Stream
    room_name: str


@dataclass(frozen=True)
class _Live:
    stream: Stream
    session_id: int
    room_name: str


class StageService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        livekit: LiveKitGateway,
        streams: StreamService,
        moderation: ModerationService,
        settings: StageSettings,
        *,
        events: EventBus | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._livekit = livekit
        self._streams = streams
        self._moderation = moderation
        self.settings = settings
        self._events = events or EventBus()

    # -- reading -------------------------------------------------------------------------------

    async def state(self, stream: Stream) -> StageState:
        session = await self._streams.current_session(stream.id) if stream.active else None
        if session is None:
            return StageState(False, self.settings.max_guests, [], [], [])
        now = to_db(self._clock.now())
        hands = await self._db.fetch_all(
            "SELECT * FROM stage_hands WHERE session_id = ? ORDER BY raised_at, user_id",
            (session.id,),
        )
        invitations = await self._db.fetch_all(
            "SELECT * FROM stage_invitations WHERE session_id = ? AND status = 'pending'"
            " AND expires_at > ? ORDER BY id",
            (session.id, now),
        )
        guests = await self._db.fetch_all(
            "SELECT * FROM stage_members WHERE session_id = ? AND left_at IS NULL ORDER BY id",
            (session.id,),
        )
        return StageState(
            live=True,
            max_guests=self.settings.max_guests,
            hands=[_hand(row) for row in hands],
            invitations=[_invitation(row) for row in invitations],
            guests=[_guest(row) for row in guests],
        )

    async def may_manage(self, stream: Stream, user_id: int) -> bool:
        """The streamer, or a moderator, runs the stage."""
        return user_id == stream.owner_id or await self._moderation.is_moderator(user_id)

    async def check_may_manage(self, stream: Stream, user_id: int) -> None:
        if not await self.may_manage(stream, user_id):
            raise Forbidden("Only the streamer and moderators can run the stage.")

    async def session_guests(self, session_id: int) -> list[GuestTime]:
        """Who was on stage in a session and for how long, longest first."""
        rows = await self._db.fetch_all(
            "SELECT m.user_id, m.display_name, m.joined_at, m.left_at, s.ended_at FROM stage_members m JOIN stream_sessions s ON s.id = m.session_id"
            " WHERE m.session_id = ? ORDER BY m.id",
            (session_id,),
        )
        return _totals(rows, self._clock.now())

    async def time_on_stage(self, user_id: int) -> tuple[int, int]:
        """(sessions, seconds) a member spent as a guest on anyone's stage."""
        rows = await self._db.fetch_all(
            "SELECT m.user_id, m.display_name, m.joined_at, m.left_at, m.session_id, s.ended_at"
            " FROM stage_members m JOIN stream_sessions s ON s.id = m.session_id"
            " WHERE m.user_id = ?",
            (user_id,),
        )
        totals = _totals(rows, self._clock.now())
        sessions = len({row["session_id"] for row in rows})
        return sessions, sum(total.seconds for total in totals)

    # -- a viewer's own actions ----------------------------------------------------------------

    async def raise_hand(self, stream: Stream, member: Member) -> None:
        live = await self._live(stream)
        if member.user_id == stream.owner_id:
            raise InvalidInput("You're the streamer: you're already on your stage.")
        await self._check_not_sanctioned(member.user_id, you=True)
        name = _name(member.display_name)
        async with self._db.transaction() as tx:
            if await _on_stage(tx, live.session_id, member.user_id):
                raise Conflict("You're already on stage.")
            await tx.execute(
                "INSERT INTO stage_hands (session_id, user_id, display_name, raised_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (session_id, user_id) DO NOTHING",
                (live.session_id, member.user_id, name, to_db(self._clock.now())),
            )
            changed = await self._changed(tx, live)
        await self._events.publish(changed)

    async def lower_hand(self, stream: Stream, user_id: int) -> None:
        live = await self._live(stream)
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM stage_hands WHERE session_id = ? AND user_id = ?",
                (live.session_id, user_id),
            )
            changed = await self._changed(tx, live)
        await self._events.publish(changed)

    async def accept(self, stream: Stream, member: Member, identity: str | None = None) -> Guest:
        """Take the stage: the invited member's watching connection may publish from now on.

        ``identity`` is the connection (tab) that accepted; without it, their newest one.
        """
        live = await self._live(stream)
        now = self._clock.now()
        invitation = await self._pending_invitation(live.session_id, member.user_id, now)
        if invitation is None:
            raise Conflict("You have no invitation to this stage (it may have run out).")
        await self._check_not_sanctioned(member.user_id, you=True)
        identity = await self._watching_identity(live, member.user_id, identity)
        if identity is None:
            raise Conflict("Open the stream in this browser first: you need to be watching it.")
        # LiveKit first: if it can't be reached, nothing changes and the invitation still stands.
        await self._grant(live, identity)
        try:
            guest, changed = await self._seat(live, invitation, member, identity, now)
        except Exception:
            await self._revoke_quietly(live, identity)
            raise
        await self._events.publish(changed)
        return guest

    async def decline(self, stream: Stream, user_id: int) -> None:
        live = await self._live(stream)
        async with self._db.transaction() as tx:
            declined = await tx.execute(
                "UPDATE stage_invitations SET status = 'declined', answered_at = ?"
                " WHERE session_id = ? AND user_id = ? AND status = 'pending'",
                (to_db(self._clock.now()), live.session_id, user_id),
            )
            if not declined:
                raise Conflict("You have no invitation to decline.")
            changed = await self._changed(tx, live)
        await self._events.publish(changed)

    async def leave(self, stream: Stream, user_id: int) -> Guest:
        """A guest steps off the stage themselves (back to watching)."""
        return await self._take_off(stream, user_id, by=user_id, reason="left")

    # -- the streamer's and moderators' actions ------------------------------------------------

    async def invite(self, stream: Stream, *, by: int, member: Member) -> Invitation:
        live = await self._live(stream)
        await self.check_may_manage(stream, by)
        known = _name(member.display_name) if member.display_name.strip() else None
        if member.user_id == stream.owner_id:
            raise InvalidInput("The streamer is always on their own stage.")
        watching = await self._watching(live, member.user_id, None)
        if watching is None:
            raise Conflict(
                "%(name)s isn't watching this stream signed in right now, so they can't be "
                "invited: they need to open it with the Watch button (guests can't come on stage).",
                name=known or Phrase(N_("That member")),
            )
        name = known or _name(watching.name)  # invited by id: the name their token carries
        await self._check_not_sanctioned(member.user_id, you=False, name=name)
        now = self._clock.now()
        expires = now + self.settings.invite_ttl
        async with self._db.transaction() as tx:
            await _expire_invitations(tx, live.session_id, now)
            if await _on_stage(tx, live.session_id, member.user_id):
                raise Conflict("%(name)s is already on stage.", name=name)
            if await _pending(tx, live.session_id, member.user_id):
                raise Conflict(
                    "%(name)s already has an invitation waiting for an answer.", name=name
                )
            taken = await _seats_taken(tx, live.session_id)
            if taken >= self.settings.max_guests:
                raise Conflict(
                    "The stage is full (%(guests)s guests, invitations waiting included). "
                    "Take someone off first.",
                    guests=self.settings.max_guests,
                )
            invitation_id = await tx.insert(
                "INSERT INTO stage_invitations (session_id, user_id, display_name, invited_by,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (live.session_id, member.user_id, name, by, to_db(now), to_db(expires)),
            )
            await record_action(
                tx,
                now,
                moderator_id=by,
                action="stage:invite",
                target_id=member.user_id,
                stream_id=stream.id,
                details=f"expires in {human_duration(self.settings.invite_ttl.total_seconds())}",
            )
            changed = await self._changed(tx, live)
        await self._events.publish(changed)
        return Invitation(invitation_id, member.user_id, name, by, now, expires)

    async def remove(
        self, stream: Stream, *, by: int, user_id: int
    ) -> Literal["removed", "withdrawn"]:
        """Take a guest off stage, or withdraw their invitation; they go back to watching."""
        await self.check_may_manage(stream, by)
        live = await self._live(stream)
        state = await self.state(stream)
        if state.guest(user_id) is None and state.invitation(user_id) is not None:
            await self._withdraw_invitation(live, user_id, by)
            return "withdrawn"
        await self._take_off(stream, user_id, by=by, reason="removed")
        return "removed"

    async def mute(self, stream: Stream, *, by: int, user_id: int, source: MuteSource) -> int:
        """Mute a guest's published tracks of one kind; they can unmute themselves. Returns how
        many tracks were muted."""
        await self.check_may_manage(stream, by)
        live = await self._live(stream)
        guest = (await self.state(stream)).guest(user_id)
        if guest is None:
            raise Conflict("That member isn't on stage.")
        wanted = (
            tuple(s for sources in _MUTED_SOURCES.values() for s in sources)
            if source == "all"
            else _MUTED_SOURCES[source]
        )
        muted = 0
        for participant in await self._livekit.list_participants(live.room_name):
            if participant.identity != guest.identity:
                continue
            for track in participant.tracks:
                if track.source in wanted and not track.muted:
                    muted += await self._livekit.mute_published_track(
                        live.room_name, guest.identity, track.sid
                    )
        async with self._db.transaction() as tx:
            await record_action(
                tx,
                self._clock.now(),
                moderator_id=by,
                action="stage:mute",
                target_id=user_id,
                stream_id=stream.id,
                details=f"{source}: {muted} track{'s' * (muted != 1)}",
            )
        return muted

    # -- reactions (golive/event_table.py) -----------------------------------------------------

    async def close_for_stream_end(self, event: StreamEnded) -> None:
        """Hands clear, invitations lapse and guests step off when the stream ends (its room is
        gone, and their permission with it)."""
        ended = to_db(event.session.ended_at or self._clock.now())
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM stage_hands WHERE session_id = ?", (event.session.id,))
            await tx.execute(
                "UPDATE stage_invitations SET status = 'withdrawn', answered_at = ?"
                " WHERE session_id = ? AND status = 'pending'",
                (ended, event.session.id),
            )
            await tx.execute(
                "UPDATE stage_members SET left_at = ?, left_reason = 'ended'"
                " WHERE session_id = ? AND left_at IS NULL",
                (ended, event.session.id),
            )

    async def on_sanction(self, event: SanctionEvent) -> None:
        """A member banned, timed out or kicked leaves every stage, hand and invitation."""
        sanction = event.sanction
        for stream in await self._streams.list_live(limit=10_000):
            live = await self._live_or_none(stream)
            if live is None:
                continue
            state = await self.state(stream)
            if state.guest(sanction.user_id) is not None:
                try:
                    await self._take_off(
                        stream, sanction.user_id, by=sanction.moderator_id, reason="sanctioned"
                    )
                except (Conflict, LiveKitUnavailable) as error:
                    log.warning("could not take %s off stage: %s", sanction.user_id, error)
            async with self._db.transaction() as tx:
                hands = await tx.execute(
                    "DELETE FROM stage_hands WHERE session_id = ? AND user_id = ?",
                    (live.session_id, sanction.user_id),
                )
                invitations = await tx.execute(
                    "UPDATE stage_invitations SET status = 'withdrawn', answered_at = ?"
                    " WHERE session_id = ? AND user_id = ? AND status = 'pending'",
                    (to_db(self._clock.now()), live.session_id, sanction.user_id),
                )
                changed = await self._changed(tx, live) if hands or invitations else None
            if changed is not None:
                await self._events.publish(changed)

    def apply_participant_left(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime
    ) -> None:
        """A guest whose connection left the room is off stage (a new tab starts as a viewer)."""
        if not event.participant.identity:
            return
        tx.execute(
            "UPDATE stage_members SET left_at = ?, left_reason = 'disconnected'"
            " WHERE identity = ? AND left_at IS NULL AND session_id IN"
            " (SELECT id FROM stream_sessions WHERE room_name = ? AND ended_at IS NULL)",
            (to_db(now), event.participant.identity, event.room.name),
        )

    async def tell_room(self, event: StageChanged) -> None:
        """Nudge the pages in the room to fetch the stage again (they also poll)."""
        payload = json.dumps({"type": "stage"}).encode()
        await self._livekit.send_data(event.room_name, payload, STAGE_TOPIC)

    # -- helpers -------------------------------------------------------------------------------

    async def _take_off(
        self, stream: Stream, user_id: int, *, by: int, reason: LeftReason
    ) -> Guest:
        live = await self._live(stream)
        guest = (await self.state(stream)).guest(user_id)
        if guest is None:
            raise Conflict("That member isn't on stage.")
        # Revoke first: if LiveKit can't be reached they stay on stage (and the streamer can try
        # again), rather than the database saying "off" while LiveKit still lets them publish.
        await self._revoke(live, guest.identity)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE stage_members SET left_at = ?, left_reason = ?, removed_by = ?"
                " WHERE session_id = ? AND user_id = ? AND left_at IS NULL",
                (to_db(now), reason, None if by == user_id else by, live.session_id, user_id),
            )
            await record_action(
                tx,
                now,
                moderator_id=by,
                action="stage:leave" if reason == "left" else "stage:remove",
                target_id=user_id,
                stream_id=stream.id,
                details=f"{reason} after {human_duration((now - guest.joined_at).total_seconds())}",
            )
            changed = await self._changed(tx, live)
        await self._events.publish(changed)
        return Guest(guest.user_id, guest.display_name, guest.identity, guest.joined_at, now)

    async def _seat(
        self, live: _Live, invitation: Invitation, member: Member, identity: str, now: datetime
    ) -> tuple[Guest, StageChanged]:
        async with self._db.transaction() as tx:
            accepted = await tx.execute(
                "UPDATE stage_invitations SET status = 'accepted', answered_at = ?"
                " WHERE id = ? AND status = 'pending' AND expires_at > ?",
                (to_db(now), invitation.id, to_db(now)),
            )
            if not accepted:
                raise Conflict("That invitation is no longer open.")
            if await _on_stage_count(tx, live.session_id) >= self.settings.max_guests:
                raise Conflict("The stage is full. Ask the streamer to make room.")
            await tx.insert(
                "INSERT INTO stage_members (session_id, user_id, display_name, identity,"
                " joined_at) VALUES (?, ?, ?, ?, ?)",
                (live.session_id, member.user_id, invitation.display_name, identity, to_db(now)),
            )
            await tx.execute(
                "DELETE FROM stage_hands WHERE session_id = ? AND user_id = ?",
                (live.session_id, member.user_id),
            )
            await record_action(
                tx,
                now,
                moderator_id=member.user_id,
                action="stage:accept",
                target_id=member.user_id,
                stream_id=live.stream.id,
                details=f"invited by {invitation.invited_by}",
            )
            changed = await self._changed(tx, live)
        return Guest(member.user_id, invitation.display_name, identity, now, None), changed

    async def _withdraw_invitation(self, live: _Live, user_id: int, by: int) -> None:
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE stage_invitations SET status = 'withdrawn', answered_at = ?"
                " WHERE session_id = ? AND user_id = ? AND status = 'pending'",
                (to_db(now), live.session_id, user_id),
            )
            await record_action(
                tx,
                now,
                moderator_id=by,
                action="stage:withdraw",
                target_id=user_id,
                stream_id=live.stream.id,
            )
            changed = await self._changed(tx, live)
        await self._events.publish(changed)

    async def _grant(self, live: _Live, identity: str) -> None:
        granted = await self._livekit.update_participant_permission(
            live.room_name, identity, sources=STAGE_SOURCES
        )
        if not granted:
            raise Conflict("Your connection to the stream just ended. Reload the page and accept.")

    async def _revoke(self, live: _Live, identity: str) -> None:
        # False: the connection is gone, and its permission with it.
        await self._livekit.update_participant_permission(live.room_name, identity, sources=())

    async def _revoke_quietly(self, live: _Live, identity: str) -> None:
        try:
            await self._revoke(live, identity)
        except LiveKitUnavailable:
            log.warning("could not revoke publishing of %s in %s", identity, live.room_name)

    async def _watching_identity(self, live: _Live, user_id: int, wanted: str | None) -> str | None:
        participant = await self._watching(live, user_id, wanted)
        return None if participant is None else participant.identity

    async def _watching(
        self, live: _Live, user_id: int, wanted: str | None
    ) -> lk_models.ParticipantInfo | None:
        """The member's signed-in connection in the room (``wanted``, else their newest)."""
        if wanted is not None and not is_viewer_of(wanted, user_id):
            raise InvalidInput("That connection isn't yours.")
        tabs = [
            participant
            for participant in await self._livekit.list_participants(live.room_name)
            if is_viewer_of(participant.identity, user_id)
            and (wanted is None or participant.identity == wanted)
        ]
        if not tabs:
            return None
        return max(tabs, key=lambda participant: participant.joined_at_ms)

    async def _check_not_sanctioned(self, user_id: int, *, you: bool, name: str = "") -> None:
        block = await self._moderation.stage_block(user_id)
        if block is None:
            return
        until = block.until_text(self._clock.now())
        what = Phrase(SANCTIONED[block.kind])
        if you:
            raise Forbidden(
                "A moderator has %(what)s you %(until)s, so you can't come on stage.",
                what=what,
                until=until,
            )
        raise Forbidden(
            "%(name)s is %(what)s %(until)s, so they can't be invited on stage.",
            name=name,
            what=what,
            until=until,
        )

    async def _pending_invitation(
        self, session_id: int, user_id: int, now: datetime
    ) -> Invitation | None:
        row = await self._db.fetch_one(
            "SELECT * FROM stage_invitations WHERE session_id = ? AND user_id = ?"
            " AND status = 'pending' AND expires_at > ?",
            (session_id, user_id, to_db(now)),
        )
        return None if row is None else _invitation(row)

    async def _live(self, stream: Stream) -> _Live:
        live = await self._live_or_none(stream)
        if live is None:
            raise Conflict("The stream isn't live, so there is no stage right now.")
        return live

    async def _live_or_none(self, stream: Stream) -> _Live | None:
        fresh = await self._streams.get_by_id(stream.id)
        session = await self._streams.current_session(fresh.id) if fresh.active else None
        if session is None:
            return None
        return _Live(fresh, session.id, session.room_name)

    async def _changed(self, tx: Transaction, live: _Live) -> StageChanged:
        """Record, in the change's own transaction, that the room should be told (any process
        may send the packet); the caller publishes the event after the commit."""
        changed = StageChanged(live.stream, live.room_name)
        await record(tx, changed, at=self._clock.now())
        return changed


# -- SQL helpers (inside a transaction) ---------------------------------------------------------


async def _expire_invitations(tx: Transaction, session_id: int, now: datetime) -> None:
    await tx.execute(
        "UPDATE stage_invitations SET status = 'expired', answered_at = expires_at"
        " WHERE session_id = ? AND status = 'pending' AND expires_at <= ?",
        (session_id, to_db(now)),
    )


async def _on_stage(tx: Transaction, session_id: int, user_id: int) -> bool:
    row = await tx.fetch_one(
        "SELECT 1 FROM stage_members WHERE session_id = ? AND user_id = ? AND left_at IS NULL",
        (session_id, user_id),
    )
    return row is not None


async def _pending(tx: Transaction, session_id: int, user_id: int) -> bool:
    row = await tx.fetch_one(
        "SELECT 1 FROM stage_invitations WHERE session_id = ? AND user_id = ?"
        " AND status = 'pending'",
        (session_id, user_id),
    )
    return row is not None


async def _on_stage_count(tx: Transaction, session_id: int) -> int:
    row = await tx.fetch_one(
        "SELECT COUNT(*) AS n FROM stage_members WHERE session_id = ? AND left_at IS NULL",
        (session_id,),
    )
    return 0 if row is None else int(row["n"])


async def _seats_taken(tx: Transaction, session_id: int) -> int:
    """Guests on stage plus invitations waiting (expired ones were just marked)."""
    row = await tx.fetch_one(
        "SELECT (SELECT COUNT(*) FROM stage_members WHERE session_id = ? AND left_at IS NULL)"
        " + (SELECT COUNT(*) FROM stage_invitations WHERE session_id = ? AND status = 'pending')"
        " AS n",
        (session_id, session_id),
    )
    return 0 if row is None else int(row["n"])


def _name(display_name: str) -> str:
    name = " ".join(display_name.split())[:NAME_MAX]
    return name or "Member"


def _totals(rows: list[Row], now: datetime) -> list[GuestTime]:
    seconds: dict[int, int] = {}
    names: dict[int, str] = {}
    for row in rows:
        end = from_db(row["left_at"]) or from_db(row["ended_at"]) or now
        stretch = int((end - from_db_required(row["joined_at"])).total_seconds())
        seconds[row["user_id"]] = seconds.get(row["user_id"], 0) + max(stretch, 0)
        names[row["user_id"]] = row["display_name"]
    totals = [GuestTime(user_id, names[user_id], total) for user_id, total in seconds.items()]
    return sorted(totals, key=lambda total: (-total.seconds, total.user_id))


def _hand(row: Row) -> Hand:
    return Hand(row["user_id"], row["display_name"], from_db_required(row["raised_at"]))


def _invitation(row: Row) -> Invitation:
    return Invitation(
        id=row["id"],
        user_id=row["user_id"],
        display_name=row["display_name"],
        invited_by=row["invited_by"],
        created_at=from_db_required(row["created_at"]),
        expires_at=from_db_required(row["expires_at"]),
    )


def _guest(row: Row) -> Guest:
    return Guest(
        user_id=row["user_id"],
        display_name=row["display_name"],
        identity=row["identity"],
        joined_at=from_db_required(row["joined_at"]),
        left_at=from_db(row["left_at"]),
    )

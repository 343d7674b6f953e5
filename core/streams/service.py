"""Stream pages and their lifecycle: create, edit, go live, end, and repair after a restart."""

from __future__ import annotations

import functools
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.kernel import text
from core.kernel.clock import Clock
from core.kernel.errors import Conflict, InvalidInput, LiveKitUnavailable, NotFound
from core.kernel.events import EventBus
from core.kernel.i18n import N_
from core.kernel.timefmt import from_db, from_db_required, to_db
from core.livekit import LiveKitGateway, livekit_trouble
from core.livekit import room_name as session_room_name
from core.store import Database, Row, SyncTransaction, Transaction, record
from core.streams.gate import GoLiveGate, OpenGate
from core.streams.live_rooms import DEFAULT_TTL_SECONDS, LiveRoomCache
from core.streams.records import (
    Stream,
    StreamEnded,
    StreamEvent,
    StreamMediaStarted,
    StreamSession,
    StreamWentLive,
)

log = logging.getLogger(__name__)

TITLE_MAX = 100
DESCRIPTION_MAX = 1000
NO_STREAM_PAGE = N_("You have no stream page yet. Create one with `/stream create` in Discord.")


# Titles and descriptions are shown in Discord and on the pages as written: links are fine, but
# control and invisible characters (a NUL would also slip past SQLite's length CHECKs; a bidi
# override would make the title read differently from what it says) are refused.
_NO_INVISIBLE = N_("The title and description can't contain NUL, control or invisible characters.")
TITLE_RULES = text.FieldRules(
    name=N_("The title"),
    max_length=TITLE_MAX,
    invisible="refuse",
    required=N_("A stream needs a title."),
    refused_invisible=_NO_INVISIBLE,
)
DESCRIPTION_RULES = text.FieldRules(
    name=N_("The description"),
    max_length=DESCRIPTION_MAX,
    invisible="refuse",
    whitespace="keep_lines",
    refused_invisible=_NO_INVISIBLE,
)


@dataclass(frozen=True)
class StreamDraft:
    """What a member fills in for their stream page; validated on construction."""

    title: str
    description: str = ""
    location_name: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def __post_init__(self) -> None:
        title = text.apply(TITLE_RULES, self.title)
        description = text.apply(DESCRIPTION_RULES, self.description)
        if (self.latitude is None) != (self.longitude is None):
            raise InvalidInput("Give both latitude and longitude, or neither.")
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            raise InvalidInput("Latitude must be between -90 and 90.")
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            raise InvalidInput("Longitude must be between -180 and 180.")
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "description", description)


def slug_for(username: str) -> str:
    """A URL-safe slug from a Discord username (new usernames already are; old ones may not be)."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", username.lower()).strip("-.")
    return slug[:32] or "streamer"


class StreamService:
    def __init__(
        self,
        db: Database,
        livekit: LiveKitGateway,
        clock: Clock,
        *,
        live_rooms_ttl: float = DEFAULT_TTL_SECONDS,
        gate: GoLiveGate | None = None,
        room_departure_timeout: int = 0,
        events: EventBus | None = None,
        media_wait: timedelta = timedelta(0),
    ) -> None:
        self._db = db
        self._livekit = livekit
        self._clock = clock
        # Rooms stay open this long after everyone left, so a broadcaster who drops comes back
        # to the same room within the auto-end grace (core/live_events.py).
        self._room_departure_timeout = room_departure_timeout
        # Asked before every go-live (a fee or a pass, see core/golive_gate.py).
        self._gate: GoLiveGate = gate or OpenGate()
        # Told after a stream went live or ended (who listens: golive/event_table.py).
        self._events = events or EventBus()
        # A session with no video seen after this long goes on air anyway (0: never; see
        # start_overdue_media). For LiveKits whose webhooks and participant lists say nothing.
        self.media_wait = media_wait
        self._go_live_checks: list[Callable[[int], Awaitable[None]]] = []
        self._room_pickers: list[Callable[[Stream], Awaitable[str | None]]] = []
        self._live_rooms = LiveRoomCache(
            lambda: self.list_live(limit=10_000), self.find_live_by_room, ttl=live_rooms_ttl
        )

    def add_go_live_check(self, check: Callable[[int], Awaitable[None]]) -> None:
        """Ask `check(owner_id)` before every go-live; it raises a domain error to refuse."""
        self._go_live_checks.append(check)

    def add_room_picker(self, picker: Callable[[Stream], Awaitable[str | None]]) -> None:
        """Let `picker(stream)` name the room of a go-live (an OBS ingress already points at one).

        A name already used by a session is ignored: every go-live still gets a fresh room.
        """
        self._room_pickers.append(picker)

    # -- reading -------------------------------------------------------------------------------

    async def find_by_owner(self, owner_id: int) -> Stream | None:
        row = await self._db.fetch_one("SELECT * FROM streams WHERE owner_id = ?", (owner_id,))
        return _stream(row) if row else None

    async def get_by_owner(self, owner_id: int) -> Stream:
        stream = await self.find_by_owner(owner_id)
        if stream is None:
            raise NotFound(NO_STREAM_PAGE)
        return stream

    async def get_by_id(self, stream_id: int) -> Stream:
        row = await self._db.fetch_one("SELECT * FROM streams WHERE id = ?", (stream_id,))
        if row is None:
            raise NotFound("That stream page no longer exists.")
        return _stream(row)

    async def get_by_slug(self, slug: str) -> Stream:
        row = await self._db.fetch_one("SELECT * FROM streams WHERE slug = ?", (slug,))
        if row is None:
            raise NotFound("There is no stream page called '%(slug)s'.", slug=slug)
        return _stream(row)

    async def find_live_by_room(self, room_name: str) -> Stream | None:
        row = await self._db.fetch_one(
            "SELECT * FROM streams WHERE room_name = ? AND active = 1", (room_name,)
        )
        return _stream(row) if row else None

    def find_live_by_room_cached(self, room_name: str) -> Awaitable[Stream | None]:
        """Like find_live_by_room, from memory (the token endpoint's hot path).

        Exact for go-lives and ends of this process; a stream ended by another process may be
        answered as live for up to `live_rooms_ttl` seconds (core/live_rooms.py).
        """
        return self._live_rooms.find(room_name)  # no coroutine of our own on the hot path

    async def list_live(self, limit: int = 48) -> list[Stream]:
        rows = await self._db.fetch_all(
            "SELECT * FROM streams WHERE active = 1 ORDER BY live_since DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [_stream(row) for row in rows]

    async def current_session(self, stream_id: int) -> StreamSession | None:
        row = await self._db.fetch_one(
            "SELECT * FROM stream_sessions WHERE stream_id = ? AND ended_at IS NULL", (stream_id,)
        )
        return _session(row) if row else None

    async def recent_sessions(self, stream_id: int, limit: int = 5) -> list[StreamSession]:
        rows = await self._db.fetch_all(
            "SELECT * FROM stream_sessions WHERE stream_id = ? AND ended_at IS NOT NULL"
            " ORDER BY started_at DESC, id DESC LIMIT ?",
            (stream_id, limit),
        )
        return [_session(row) for row in rows]

    # -- stream pages --------------------------------------------------------------------------

    async def create(
        self, *, owner_id: int, username: str, display_name: str, draft: StreamDraft
    ) -> Stream:
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            if await tx.fetch_one("SELECT 1 FROM streams WHERE owner_id = ?", (owner_id,)):
                raise Conflict("You already have a stream page. Change it with `/stream edit`.")
            slug = await _free_slug(tx, slug_for(username))
            await tx.insert(
                "INSERT INTO streams (owner_id, slug, owner_name, title, description, location_name,"
                " latitude, longitude, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    owner_id,
                    slug,
                    display_name,
                    draft.title,
                    draft.description,
                    draft.location_name,
                    draft.latitude,
                    draft.longitude,
                    now,
                    now,
                ),
            )
        log.info("stream page %s created for user %s", slug, owner_id)
        return await self.get_by_owner(owner_id)

    async def edit(self, *, owner_id: int, display_name: str, draft: StreamDraft) -> Stream:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE streams SET title = ?, description = ?, location_name = ?, latitude = ?,"
                " longitude = ?, owner_name = ?, updated_at = ? WHERE owner_id = ?",
                (
                    draft.title,
                    draft.description,
                    draft.location_name,
                    draft.latitude,
                    draft.longitude,
                    display_name,
                    to_db(self._clock.now()),
                    owner_id,
                ),
            )
            if not changed:
                raise NotFound(NO_STREAM_PAGE)
        return await self.get_by_owner(owner_id)

    # -- going live and ending -----------------------------------------------------------------

    async def go_live(self, owner_id: int, request_key: str | None = None) -> StreamEvent:
        """Open a fresh LiveKit room and a session. LiveKit first: if it says no, nothing is written.

        `request_key` identifies the request (a Discord interaction id) so a retry is charged
        once; the gate is paid before the room opens and refunded if the stream can't go live.
        """
        stream = await self.get_by_owner(owner_id)
        if stream.active:
            raise Conflict("You are already live. End the stream first with `/stream end`.")
        for check in self._go_live_checks:
            await check(owner_id)
        ticket = await self._gate.admit(
            stream, request_key or f"golive:{owner_id}:{secrets.token_hex(8)}"
        )
        try:
            now = self._clock.now()
            room_name = await self._pick_room(stream, now)
            metadata = json.dumps(
                {"streamId": stream.id, "slug": stream.slug, "title": stream.title}
            )
            await self._livekit.create_room(
                room_name, metadata, departure_timeout=self._room_departure_timeout
            )
            try:
                session_id = await self._open_session(stream.id, room_name, now)
            except BaseException:
                # A racing go-live of the same member may have opened (and now owns) the same room.
                if await self.find_live_by_room(room_name) is None:
                    await self._delete_room_quietly(room_name)
                raise
        except BaseException:
            await self._gate.failed(ticket)
            raise
        self._live_rooms.invalidate()
        event = StreamWentLive(
            await self.get_by_owner(owner_id), await self.get_session(session_id)
        )
        await self._gate.opened(ticket, event.session)
        log.info("stream %s went live in room %s", stream.slug, room_name)
        await self._events.publish(event)
        return event

    async def end(self, owner_id: int, reason: str = "owner") -> StreamEvent:
        stream = await self.get_by_owner(owner_id)
        if not stream.active:
            raise Conflict("You are not live right now.")
        return await self.end_stream(stream, reason)

    async def end_stream(self, stream: Stream, reason: str) -> StreamEvent:
        """Close the stream's session, then its room. A room LiveKit already closed is fine.

        The database first: the stream is over for everyone at once, whatever LiveKit does.
        Closing the room waits at most LiveKit's timeout; a room left open (LiveKit slow or
        down) empties and closes by itself, and the reconciler removes leftovers.
        """
        ended_at = self._clock.now()
        async with self._db.transaction() as tx:
            session_row = await tx.fetch_one(
                "SELECT * FROM stream_sessions WHERE stream_id = ? AND ended_at IS NULL",
                (stream.id,),
            )
            changed = await tx.execute(
                "UPDATE streams SET active = 0, on_air = 0, room_name = NULL, live_since = NULL,"
                " last_live_at = ?, updated_at = ? WHERE id = ? AND active = 1",
                (to_db(ended_at), to_db(ended_at), stream.id),
            )
            if not changed or session_row is None:
                raise Conflict("This stream has already ended.")
            started = from_db_required(session_row["started_at"])
            await tx.execute(
                "UPDATE stream_sessions SET ended_at = ?, end_reason = ?, duration_seconds = ?"
                " WHERE id = ?",
                (
                    to_db(ended_at),
                    reason,
                    int((ended_at - started).total_seconds()),
                    session_row["id"],
                ),
            )
            ended = await _ended_in(tx, stream.id, session_row["id"])
            await record(tx, ended, at=ended_at)
        self._live_rooms.invalidate()
        if stream.room_name is not None:
            await self._delete_room_quietly(stream.room_name)
        event = StreamEnded(
            await self.get_by_owner(stream.owner_id),
            await self.get_session(session_row["id"]),
        )
        log.info("stream %s ended (%s)", stream.slug, reason)
        await self._events.publish(event)
        return event

    # -- going on air: the first video ------------------------------------------------------

    def claim_media_start(self, tx: SyncTransaction, session_id: int, now: datetime) -> bool:
        """On the database's thread, inside the caller's transaction: the open session went on air.

        True for the one call that made the change; then publish it with
        `publish_media_started` after the commit. Later calls (a repeated webhook, the
        reconciler, another process) get False, so the session is announced once.
        """
        changed = tx.execute(
            "UPDATE stream_sessions SET media_started_at = ?"
            " WHERE id = ? AND ended_at IS NULL AND media_started_at IS NULL",
            (to_db(now), session_id),
        )
        if not changed:
            return False
        tx.execute(
            "UPDATE streams SET on_air = 1, updated_at = ?"
            " WHERE id = (SELECT stream_id FROM stream_sessions WHERE id = ?) AND active = 1",
            (to_db(now), session_id),
        )
        # Announcements, DMs and roles wait in the outbox with the change: a process that
        # stops before delivering them loses nothing (the bot delivers them).
        session_row = tx.fetch_one("SELECT * FROM stream_sessions WHERE id = ?", (session_id,))
        stream_row = tx.fetch_one(
            "SELECT * FROM streams WHERE id = (SELECT stream_id FROM stream_sessions WHERE id = ?)",
            (session_id,),
        )
        if session_row is not None and stream_row is not None:
            record(tx, StreamMediaStarted(_stream(stream_row), _session(session_row)), at=now)
        return True

    async def publish_media_started(self, session_id: int) -> StreamEvent | None:
        """Tell everyone a session claimed by `claim_media_start` is on air (None if it ended)."""
        session = await self.get_session(session_id)
        stream = await self.get_by_id(session.stream_id)
        if session.ended_at is not None or not stream.on_air:
            return None  # ended between the claim and now: StreamEnded says the rest
        event = StreamMediaStarted(stream, session)
        log.info("stream %s is on air", stream.slug)
        await self._events.publish(event)
        return event

    async def start_overdue_media(self) -> list[StreamEvent]:
        """The scheduler's fallback: sessions still starting after `media_wait` go on air anyway.

        Off when `media_wait` is 0. Sessions whose video was seen went on air already.
        """
        if self.media_wait <= timedelta(0):
            return []
        now = self._clock.now()
        rows = await self._db.fetch_all(
            "SELECT id FROM stream_sessions"
            " WHERE ended_at IS NULL AND media_started_at IS NULL AND started_at <= ?",
            (to_db(now - self.media_wait),),
        )
        started: list[StreamEvent] = []
        for row in rows:
            session_id: int = row["id"]
            if not await self._db.run_transaction(
                functools.partial(self.claim_media_start, session_id=session_id, now=now)
            ):
                continue  # its video arrived meanwhile, or another process got there first
            log.info(
                "session %s shown live without video after %s (streams.media_wait_seconds)",
                session_id,
                self.media_wait,
            )
            if (event := await self.publish_media_started(session_id)) is not None:
                started.append(event)
        return started

    async def reconcile_with_livekit(self) -> list[StreamEvent]:
        """At start-up: end streams whose room is gone; close rooms of sessions that ended.

        If LiveKit can't be reached, nothing is touched: ending every stream because the
        network blinked would be worse than waiting for the next start.
        """
        try:
            rooms = await self._livekit.list_room_names()
        except LiveKitUnavailable as error:
            log.warning("live streams left as they are at start-up. %s", livekit_trouble(error))
            return []
        ended = [
            await self.end_stream(stream, "room_gone")
            for stream in await self.list_live(limit=1_000_000)
            if stream.room_name not in rooms
        ]
        # Only rooms of *ended* sessions are leftovers: a room no session has yet may be one an
        # OBS ingress is already publishing into, about to go live.
        for leftover in sorted(rooms):
            if await self._db.fetch_one(
                "SELECT 1 FROM stream_sessions WHERE room_name = ? AND ended_at IS NOT NULL",
                (leftover,),
            ):
                await self._delete_room_quietly(leftover)
        return ended

    # -- helpers -------------------------------------------------------------------------------

    async def _open_session(self, stream_id: int, room_name: str, now: datetime) -> int:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE streams SET active = 1, room_name = ?, live_since = ?, updated_at = ?"
                " WHERE id = ? AND active = 0",
                (room_name, to_db(now), to_db(now), stream_id),
            )
            if not changed:
                raise Conflict("You are already live. End the stream first with `/stream end`.")
            session_id = await tx.insert(
                "INSERT INTO stream_sessions (stream_id, room_name, started_at) VALUES (?, ?, ?)",
                (stream_id, room_name, to_db(now)),
            )
            # Recording, thumbnails and OBS follow the session through the outbox: a process
            # that stops before their LiveKit calls leaves them to another (or its restart).
            stream_row = await tx.fetch_one("SELECT * FROM streams WHERE id = ?", (stream_id,))
            session_row = await tx.fetch_one(
                "SELECT * FROM stream_sessions WHERE id = ?", (session_id,)
            )
            if stream_row is not None and session_row is not None:
                await record(tx, StreamWentLive(_stream(stream_row), _session(session_row)), at=now)
            return session_id

    async def _pick_room(self, stream: Stream, now: datetime) -> str:
        for picker in self._room_pickers:
            wanted = await picker(stream)
            if wanted and not await self._db.fetch_one(
                "SELECT 1 FROM stream_sessions WHERE room_name = ?", (wanted,)
            ):
                return wanted
        return await self.free_room_name(stream.slug, now)

    async def free_room_name(self, slug: str, now: datetime) -> str:
        """`live-<slug>-<unix seconds>`, moved on a second if that name was ever used."""
        seconds = int(now.timestamp())
        while await self._db.fetch_one(
            "SELECT 1 FROM stream_sessions WHERE room_name = ?", (session_room_name(slug, seconds),)
        ):
            seconds += 1
        return session_room_name(slug, seconds)

    async def _delete_room_quietly(self, room_name: str) -> None:
        try:
            await self._livekit.delete_room(room_name)
        except LiveKitUnavailable:
            log.warning("could not delete room %s", room_name)

    async def get_session(self, session_id: int) -> StreamSession:
        row = await self._db.fetch_one("SELECT * FROM stream_sessions WHERE id = ?", (session_id,))
        if row is None:
            raise NotFound("That stream session does not exist.")
        return _session(row)


# Slugs that would shadow fixed routes under /api/live/ and /live/.
RESERVED_SLUGS = frozenset({"token", "create", "toggle-active", "search", "static", "api"})


async def _free_slug(tx: Transaction, wanted: str) -> str:
    slug, suffix = wanted, 1
    while slug in RESERVED_SLUGS or await tx.fetch_one(
        "SELECT 1 FROM streams WHERE slug = ?", (slug,)
    ):
        suffix += 1
        slug = f"{wanted[:28]}-{suffix}"
    return slug


async def _ended_in(tx: Transaction, stream_id: int, session_id: int) -> StreamEnded:
    """The StreamEnded of a session ending in `tx`, as the outbox records it."""
    stream_row = await tx.fetch_one("SELECT * FROM streams WHERE id = ?", (stream_id,))
    session_row = await tx.fetch_one("SELECT * FROM stream_sessions WHERE id = ?", (session_id,))
    assert stream_row is not None  # noqa: S101 - just updated
    assert session_row is not None  # noqa: S101 - just updated
    return StreamEnded(_stream(stream_row), _session(session_row))


def stream_from_row(row: Row) -> Stream:
    """A `streams` row (SELECT *) as a Stream; for other core modules that read the table."""
    return _stream(row)


def _stream(row: Row) -> Stream:
    return Stream(
        id=row["id"],
        owner_id=row["owner_id"],
        slug=row["slug"],
        owner_name=row["owner_name"],
        title=row["title"],
        description=row["description"],
        location_name=row["location_name"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        active=bool(row["active"]),
        room_name=row["room_name"],
        live_since=from_db(row["live_since"]),
        last_live_at=from_db(row["last_live_at"]),
        on_air=bool(row["on_air"]),
    )


def _session(row: Row) -> StreamSession:
    started = from_db_required(row["started_at"])
    return StreamSession(
        id=row["id"],
        stream_id=row["stream_id"],
        room_name=row["room_name"],
        started_at=started,
        ended_at=from_db(row["ended_at"]),
        duration_seconds=row["duration_seconds"],
        end_reason=row["end_reason"],
        media_started_at=from_db(row["media_started_at"]),
    )

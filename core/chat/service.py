"""Live chat: server-mediated, moderated, stored, then fanned out to the room and to Discord.

A message from the watch page or from the stream's Discord thread goes through the same path:
flood limits (a bucket in memory first, which refuses an obvious flood for free), then one query
for the author's bans, timeouts, the stream's slow mode and their last message, then the text
rules (length, links, blocked words), then the shared limits: the flood limits and slow mode
again, counted in the database (core/cluster/limits.py), so every replica spends from one
allowance and two replicas can't each let a message through. It is stored and published:
`queue_for_room` queues it for the LiveKit room, whose sender sends it in the background with
SendData on the ``chat`` topic, and the bot's Discord bridge copies it into the thread. Viewer
tokens cannot publish data, so this is the only way into the room.

Room packets are batched: while one SendData call is in flight, the messages that arrive for
that room queue up and leave together in the next packet (under 15 KiB). A quiet room gets one
packet per message; a flooded one gets few packets with many messages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from core.cluster import Limit, SharedLimits
from core.config import ChatSettings
from core.kernel import text as text_rules
from core.kernel.clock import Clock
from core.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LiveKitUnavailable,
    NotAuthenticated,
    NotFound,
    RateLimited,
    TooLarge,
)
from core.kernel.events import EventBus
from core.kernel.i18n import N_, Duration
from core.kernel.timefmt import from_db, from_db_required, to_db
from core.livekit import LiveKitGateway
from core.moderation import ModerationService, SanctionEvent, record_action
from core.store import Database, GroupCommit, Row, SyncTransaction, Transaction, record
from core.streams import Stream, StreamService, stream_from_row

log = logging.getLogger(__name__)

CHAT_TOPIC = "chat"
HISTORY_LIMIT = 50
REPLAY_PAGE = 500  # messages per page of a recording's chat replay
NAME_MAX = 32
# LiveKit drops data packets over ~15 KiB; leave room for the envelope.
PACKET_BUDGET = 14 * 1024

Source = Literal["web", "discord"]
Role = Literal["streamer", "moderator", "member", "guest"]

EMPTY_MESSAGE = N_("Write something first: the message is empty.")


def message_rules(rules: ChatSettings, *, privileged: bool) -> text_rules.FieldRules:
    """The text rules of a message: the streamer and moderators may post links."""
    return text_rules.FieldRules(
        name=N_("A chat message"),
        max_length=rules.max_length,
        links="allow" if privileged or rules.allow_links else "refuse",
        invisible="refuse",
        blocked_words="refuse",
        whitespace="keep_lines",
        required=EMPTY_MESSAGE,
        refused_links=N_("Links aren't allowed in this chat."),
        refused_words=N_("Your message contains a word that isn't allowed in this chat."),
        refused_invisible=N_("The message contains control characters or invisible formatting."),
        too_long=TooLarge,
    )


@dataclass(frozen=True)
class _MessageRules:
    member: text_rules.FieldRules
    privileged: text_rules.FieldRules
    blocked: text_rules.BlockedWords

    def __getitem__(self, privileged: bool) -> text_rules.FieldRules:
        return self.privileged if privileged else self.member


@dataclass(frozen=True)
class ChatAuthor:
    """Who writes: a Discord member (on the page or in the thread) or a guest with a chosen name."""

    user_id: int | None
    name: str

    @property
    def is_guest(self) -> bool:
        return self.user_id is None


@dataclass(frozen=True)
class ChatMessage:
    id: int
    stream_id: int
    session_id: int | None
    source: Source
    author_id: int | None
    author_name: str
    author_role: Role
    body: str
    created_at: datetime
    hidden: bool
    discord_message_id: int | None


@dataclass(frozen=True)
class _AuthorState:
    role: Role
    slowmode: int
    last_at: datetime | None
    session_id: int | None


@dataclass(frozen=True)
class ChatThread:
    thread_id: int
    session_id: int
    stream_id: int
    guild_id: int
    channel_id: int


@dataclass(frozen=True)
class ChatEvent:
    """A message posted or hidden; `origin_thread_id` is the Discord thread it came from, if any."""

    message: ChatMessage
    stream: Stream
    origin_thread_id: int | None = None
    kind: ClassVar[Literal["message", "hidden"]]


@dataclass(frozen=True)
class ChatMessagePosted(ChatEvent):
    kind: ClassVar[Literal["message", "hidden"]] = "message"


@dataclass(frozen=True)
class ChatMessageHidden(ChatEvent):
    kind: ClassVar[Literal["message", "hidden"]] = "hidden"


def message_json(message: ChatMessage) -> dict[str, Any]:
    """The shape pages get, over the API and inside room packets."""
    return {
        "id": message.id,
        "text": message.body,
        "source": message.source,
        "author": {
            "id": None if message.author_id is None else str(message.author_id),
            "name": message.author_name,
            "role": message.author_role,
        },
        "createdAt": message.created_at.isoformat().replace("+00:00", "Z"),
    }


class TokenBucket:
    """`burst` messages at once, refilled at `per_minute`; per key, in memory."""

    def __init__(self, clock: Clock, burst: int, per_minute: int, max_keys: int = 50_000) -> None:
        self._clock = clock
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """Spend one token; returns 0 if allowed, else the seconds until one is available."""
        now = self._clock.now().timestamp()
        tokens, last = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self._rate
        if len(self._buckets) >= self._max_keys and key not in self._buckets:
            self._forget_full(now)
        self._buckets[key] = (tokens - 1, now)
        return 0.0

    def give_back(self, key: str) -> None:
        """Return the token `take` spent (the message was refused further on)."""
        if key in self._buckets:
            tokens, last = self._buckets[key]
            self._buckets[key] = (min(self._burst, tokens + 1), last)

    def _forget_full(self, now: float) -> None:
        # Buckets that refilled completely carry no information.
        full = [
            key
            for key, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self._rate >= self._burst
        ]
        for key in full:
            del self._buckets[key]


class RoomBroadcaster:
    """Sends chat events into LiveKit rooms, coalescing what queues up during a send.

    Queuing is instant and never waits for LiveKit; one sender per busy room (started with
    `spawn`, the event bus's, so a drain of the bus waits for it) sends what queued, in order.
    """

    def __init__(
        self,
        livekit: LiveKitGateway,
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        topic: str = CHAT_TOPIC,
    ) -> None:
        self._livekit = livekit
        self._spawn = spawn
        self._topic = topic
        self._pending: dict[str, list[bytes]] = {}
        self._sending: set[str] = set()

    def queue(self, room: str, event: dict[str, Any]) -> None:
        """Queue one event for the room; its sender delivers it (or logs that it could not)."""
        encoded = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        self._pending.setdefault(room, []).append(encoded)
        if room not in self._sending:
            self._sending.add(room)
            self._spawn(self._drain(room))

    async def _drain(self, room: str) -> None:
        try:
            while self._pending.get(room):
                batch = self._take_batch(room)
                payload = b'{"events":[' + b",".join(batch) + b"]}"
                try:
                    await self._livekit.send_data(room, payload, self._topic)
                except LiveKitUnavailable:
                    # Stored already; pages that miss it pick it up from the history.
                    log.warning("could not send %d chat event(s) to room %s", len(batch), room)
        finally:
            self._sending.discard(room)
            if not self._pending.get(room):
                self._pending.pop(room, None)

    def _take_batch(self, room: str) -> list[bytes]:
        queue = self._pending[room]
        size, count = 0, 0
        for item in queue:
            if count and size + len(item) + 1 > PACKET_BUDGET:
                break
            size += len(item) + 1
            count += 1
        batch, self._pending[room] = queue[:count], queue[count:]
        return batch


class AuthorStates:
    """Reads what `post` must know about each author, for all waiting messages in one query.

    Like core.store.group_commit: while one read is in flight, the next requests queue and go together
    (one thread hop for the batch instead of one per message).
    """

    PER_QUERY = 200  # 3 parameters a request

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: list[tuple[tuple[int | None, int, str], asyncio.Future[Row]]] = []
        self._reader: asyncio.Task[None] | None = None

    async def read(self, user_id: int | None, stream_id: int, now: str) -> Row:
        done: asyncio.Future[Row] = asyncio.get_running_loop().create_future()
        self._queue.append(((user_id, stream_id, now), done))
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_all())
        return await done

    async def _read_all(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self.PER_QUERY]
                del self._queue[: self.PER_QUERY]
                try:
                    rows = await self._read(batch)
                except Exception as error:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                    continue
                for row in rows:
                    done = batch[row["k"]][1]
                    if not done.done():
                        done.set_result(row)
        finally:
            self._reader = None

    async def _read(
        self, batch: list[tuple[tuple[int | None, int, str], asyncio.Future[Row]]]
    ) -> list[Row]:
        params: list[object] = []
        for k, ((user_id, stream_id, now), _) in enumerate(batch):
            params.extend((k, user_id, stream_id, now))
        # Typed, since PostgreSQL reads an untyped VALUES parameter as text.
        ask = "(CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT))"
        asks = ", ".join([ask] * len(batch))
        return await self._db.fetch_all(
            f"WITH asks (k, user_id, stream_id, now) AS (VALUES {asks}) SELECT k,"  # noqa: S608 - placeholders only
            " (SELECT kind || '|' || COALESCE(expires_at, '') FROM sanctions s"
            "   WHERE s.user_id = asks.user_id AND lifted_at IS NULL"
            "   AND (expires_at IS NULL OR expires_at > asks.now)"
            "   AND (kind = 'timeout' OR (kind = 'ban' AND scope IN ('chat', 'both')))"
            "   ORDER BY kind = 'ban' DESC, expires_at IS NULL DESC, expires_at DESC LIMIT 1)"
            "   AS muted,"
            " (SELECT slowmode_seconds FROM chat_settings c WHERE c.stream_id = asks.stream_id)"
            "   AS slowmode,"
            " (SELECT created_at FROM chat_messages m WHERE m.author_id = asks.user_id"
            "   AND m.stream_id = asks.stream_id ORDER BY m.id DESC LIMIT 1) AS last_at,"
            " (SELECT 1 FROM moderators d WHERE d.user_id = asks.user_id AND is_moderator = 1"
            "   LIMIT 1) AS moderator,"
            " (SELECT id FROM stream_sessions x WHERE x.stream_id = asks.stream_id"
            "   AND ended_at IS NULL) AS session_id"
            " FROM asks",
            params,
        )


# The columns a stored message gets from ChatService._store; the id is handed out on writing.
_MESSAGE_COLUMNS = (
    "stream_id, session_id, source, author_id, author_name, author_role, body,"
    " discord_message_id, created_at"
)
_ROWS_PER_STATEMENT = 500  # 10 parameters a row, far under SQLite's variable limit


@dataclass(frozen=True)
class _NewMessage:
    """A message to store, and the event that says it was posted (its id set on writing)."""

    posted: ChatMessagePosted

    def values(self) -> tuple[object, ...]:
        message = self.posted.message
        return (
            message.stream_id,
            message.session_id,
            message.source,
            message.author_id,
            message.author_name,
            message.author_role,
            message.body,
            message.discord_message_id,
            to_db(message.created_at),
        )


def _insert_messages(tx: SyncTransaction, items: list[_NewMessage]) -> list[int]:
    """Store the messages that arrived together; returns their ids, in order.

    Runs on the database's thread, in one transaction (see GroupCommit). Ids are handed out
    inside the write lock (MAX(id) + 1 ...), so they follow arrival order. Their
    ChatMessagePosted events go to the outbox in the same transaction (the Discord threads'
    copies, delivered by the bot whichever process stored the message).
    """
    row = tx.fetch_one("SELECT COALESCE(MAX(id), 0) + 1 FROM chat_messages")
    assert row is not None  # noqa: S101 - an aggregate always yields a row
    first_id = int(row[0])
    for start in range(0, len(items), _ROWS_PER_STATEMENT):
        chunk = items[start : start + _ROWS_PER_STATEMENT]
        params: list[object] = []
        for offset, item in enumerate(chunk):
            params.append(first_id + start + offset)
            params.extend(item.values())
        placeholders = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        tx.execute(
            f"INSERT INTO chat_messages (id, {_MESSAGE_COLUMNS}) VALUES {placeholders}",  # noqa: S608 - placeholders only
            params,
        )
        record(
            tx,
            *(
                _with_id(item.posted, first_id + start + offset)
                for offset, item in enumerate(chunk)
            ),
            at=chunk[-1].posted.message.created_at,
        )
    return list(range(first_id, first_id + len(items)))


def _with_id(posted: ChatMessagePosted, message_id: int) -> ChatMessagePosted:
    return dataclasses.replace(posted, message=dataclasses.replace(posted.message, id=message_id))


class ChatService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        livekit: LiveKitGateway,
        streams: StreamService,
        moderation: ModerationService,
        rules: ChatSettings,
        events: EventBus | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._streams = streams
        self._moderation = moderation
        self.rules = rules
        # Messages that arrive while one batch is being stored are stored together, in one
        # transaction and one trip to the database's thread.
        self._inserts: GroupCommit[_NewMessage, int] = GroupCommit(
            self._insert_batch, what="chat messages"
        )
        self._states = AuthorStates(db)
        self._slowmode_claims: dict[tuple[str, int], datetime] = {}
        self._people = TokenBucket(clock, rules.person_burst, rules.person_per_minute)
        self._ips = TokenBucket(clock, rules.ip_burst, rules.ip_per_minute)
        # The same limits across every process (replicas behind a load balancer).
        self._shared_limits = SharedLimits(db, clock)
        # Told of new and hidden messages (the room and the Discord bridge, in the background).
        self._events = events or EventBus()
        self._room = RoomBroadcaster(livekit, spawn=self._events.spawn)

    # -- writing -------------------------------------------------------------------------------

    async def post(
        self,
        stream: Stream,
        author: ChatAuthor,
        text: str,
        *,
        ip: str | None = None,
        source: Source = "web",
        discord_message_id: int | None = None,
        origin_thread_id: int | None = None,
    ) -> ChatMessage:
        """Check, store and fan out one message. Raises a domain error when it is refused."""
        if not stream.active or stream.room_name is None:
            raise Conflict(
                "%(name)s is offline: chat opens when they go live.", name=stream.owner_name
            )
        if author.is_guest and not self.rules.allow_guests:
            raise NotAuthenticated(
                "Sign in to chat: use the Watch button on the stream's announcement in Discord."
            )
        # The form of the text first (empty, too long, invisible characters): it costs the
        # author no flood allowance. Links and words wait for the role, which the database knows.
        body = text_rules.apply(self._form_rules(), text)
        name = _clean_name(author.name)
        self._check_flood(author, ip)
        state = await self._author_state(stream, author)
        role, slowmode, last_at = state.role, state.slowmode, state.last_at
        privileged = role in ("streamer", "moderator")
        now = self._clock.now()
        body = self.check_text(body, privileged=privileged)
        slow = slowmode if not privileged else 0
        if slow:
            self._check_slowmode(_slowmode_author(author, ip), stream.id, slow, last_at, now)
        await self._check_shared_limits(author, ip, stream.id, slow)
        if slow:
            self._claim_slowmode(_slowmode_author(author, ip), stream.id, now)
        message = await self._store(
            stream,
            state.session_id,
            author,
            name,
            role,
            body,
            source,
            discord_message_id,
            origin_thread_id,
        )
        await self._events.publish(ChatMessagePosted(message, stream, origin_thread_id))
        return message

    async def post_from_thread(
        self, thread_id: int, author: ChatAuthor, text: str, discord_message_id: int
    ) -> ChatMessage | None:
        """A message written in a stream's Discord thread. None when the thread is not a live chat."""
        thread = await self.thread(thread_id)
        if thread is None:
            return None
        stream = await self._streams.get_by_id(thread.stream_id)
        current = await self._streams.current_session(stream.id)
        if current is None or current.id != thread.session_id:
            return None
        return await self.post(
            stream,
            author,
            text,
            source="discord",
            discord_message_id=discord_message_id,
            origin_thread_id=thread_id,
        )

    async def hide(
        self, message_id: int, *, moderator_id: int | None, stream: Stream | None = None
    ) -> ChatMessage:
        """Hide a message on the page and in Discord. `moderator_id` None: deleted in Discord."""
        now = self._clock.now()
        async with self._db.transaction() as tx:
            row = await tx.fetch_one("SELECT * FROM chat_messages WHERE id = ?", (message_id,))
            if row is None or (stream is not None and row["stream_id"] != stream.id):
                raise NotFound("That chat message does not exist.")
            changed = await tx.execute(
                "UPDATE chat_messages SET hidden_at = ?, hidden_by = ?"
                " WHERE id = ? AND hidden_at IS NULL",
                (to_db(now), moderator_id, message_id),
            )
            if changed and moderator_id is not None:
                await record_action(
                    tx,
                    now,
                    moderator_id=moderator_id,
                    action="hide_message",
                    target_id=row["author_id"],
                    stream_id=row["stream_id"],
                    details=f"message #{message_id}: {row['body'][:80]}",
                )
            if changed:
                hidden = await _hidden_in(tx, message_id)
                await record(tx, hidden, at=now)
        message = await self.get(message_id)
        if changed:
            stream = await self._streams.get_by_id(message.stream_id)
            await self._events.publish(ChatMessageHidden(message, stream))
        return message

    async def hide_discord_message(self, discord_message_id: int) -> ChatMessage | None:
        """Deleting a bridged message in Discord hides it on the page."""
        row = await self._db.fetch_one(
            "SELECT id FROM chat_messages WHERE discord_message_id = ?", (discord_message_id,)
        )
        if row is None:
            return None
        return await self.hide(row["id"], moderator_id=None)

    async def set_slowmode(self, *, moderator_id: int, stream: Stream, seconds: int) -> None:
        if not 0 <= seconds <= 21600:
            raise InvalidInput("Slow mode must be between 0 seconds and 6 hours.")
        if not stream.active:
            raise Conflict("%(name)s is not live right now.", name=stream.owner_name)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO chat_settings (stream_id, slowmode_seconds, updated_at)"
                " VALUES (?, ?, ?) ON CONFLICT (stream_id) DO UPDATE SET"
                " slowmode_seconds = excluded.slowmode_seconds, updated_at = excluded.updated_at",
                (stream.id, seconds, to_db(now)),
            )
            await record_action(
                tx,
                now,
                moderator_id=moderator_id,
                action="slowmode",
                target_id=stream.owner_id,
                stream_id=stream.id,
                details=f"{seconds}s",
            )

    async def slowmode(self, stream_id: int) -> int:
        row = await self._db.fetch_one(
            "SELECT slowmode_seconds FROM chat_settings WHERE stream_id = ?", (stream_id,)
        )
        return 0 if row is None else int(row["slowmode_seconds"])

    # -- reading -------------------------------------------------------------------------------

    async def history(self, stream: Stream, limit: int = HISTORY_LIMIT) -> list[ChatMessage]:
        """The last `limit` visible messages of the stream, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM chat_messages WHERE stream_id = ? AND hidden_at IS NULL"
            " ORDER BY id DESC LIMIT ?",
            (stream.id, limit),
        )
        return [_message(row) for row in reversed(rows)]

    async def session_messages(
        self, session_id: int, *, after_id: int = 0, limit: int = REPLAY_PAGE
    ) -> list[ChatMessage]:
        """A session's messages in the order written, for a recording's chat replay.

        Only what may be shown again: no hidden message, and nothing from a member banned from
        the chat now (their messages are hidden in the background when the ban lands; this also
        covers the moments before that).
        """
        rows = await self._db.fetch_all(
            "SELECT * FROM chat_messages m WHERE session_id = ? AND id > ? AND hidden_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM sanctions s WHERE s.user_id = m.author_id"
            "   AND s.kind = 'ban' AND s.scope IN ('chat', 'both') AND s.lifted_at IS NULL"
            "   AND (s.expires_at IS NULL OR s.expires_at > ?))"
            " ORDER BY id LIMIT ?",
            (session_id, after_id, to_db(self._clock.now()), limit),
        )
        return [_message(row) for row in rows]

    async def get(self, message_id: int) -> ChatMessage:
        row = await self._db.fetch_one("SELECT * FROM chat_messages WHERE id = ?", (message_id,))
        if row is None:
            raise NotFound("That chat message does not exist.")
        return _message(row)

    # -- the Discord threads -------------------------------------------------------------------

    async def record_thread(
        self, *, thread_id: int, session_id: int, stream_id: int, guild_id: int, channel_id: int
    ) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO chat_threads (thread_id, session_id, stream_id, guild_id, channel_id,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (thread_id, session_id, stream_id, guild_id, channel_id, to_db(self._clock.now())),
            )

    async def thread(self, thread_id: int) -> ChatThread | None:
        row = await self._db.fetch_one(
            "SELECT * FROM chat_threads WHERE thread_id = ?", (thread_id,)
        )
        return None if row is None else _thread(row)

    async def threads_for_session(self, session_id: int) -> list[ChatThread]:
        rows = await self._db.fetch_all(
            "SELECT * FROM chat_threads WHERE session_id = ? ORDER BY thread_id", (session_id,)
        )
        return [_thread(row) for row in rows]

    async def set_discord_message_id(self, message_id: int, discord_message_id: int) -> None:
        """Remember the thread copy of a page message, so hiding it can delete the copy."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE chat_messages SET discord_message_id = ? WHERE id = ?",
                (discord_message_id, message_id),
            )

    # -- helpers -------------------------------------------------------------------------------

    def check_text(self, text: str, *, privileged: bool = False) -> str:
        """The message as it will be stored, or the domain error that refuses it (all the
        text rules: core.kernel.text; the streamer and moderators may post links)."""
        rules = _rules_by_role(self.rules)
        return text_rules.apply(rules[privileged], text, rules.blocked)

    def _form_rules(self) -> text_rules.FieldRules:
        return _rules_by_role(self.rules)[True]

    def _check_flood(self, author: ChatAuthor, ip: str | None) -> None:
        """This process's buckets: never stricter than the shared limits, and free."""
        person = _flood_person(author, ip)
        wait = self._people.take(person)
        if not wait and ip is not None:
            wait = self._ips.take(ip)
            if wait:
                self._people.give_back(person)
        if wait:
            raise _too_fast(wait)

    async def _check_shared_limits(
        self, author: ChatAuthor, ip: str | None, stream_id: int, slowmode: int
    ) -> None:
        """The flood limits and slow mode as the whole cluster counts them (one write, shared
        by the messages that arrive together). A refusal gives back what this process's own
        buckets spent, so they stay no stricter than the shared limits."""
        rules = self.rules
        person = _flood_person(author, ip)
        limits = [
            Limit.per_minute(f"chat:person:{person}", rules.person_burst, rules.person_per_minute)
        ]
        if ip is not None:
            limits.append(Limit.per_minute(f"chat:ip:{ip}", rules.ip_burst, rules.ip_per_minute))
        if slowmode:
            # The slow mode is part of the key: changing it starts a fresh count (the last
            # stored message is still checked against the new one).
            who = _slowmode_author(author, ip)
            limits.append(Limit.once_every(f"chat:slow:{stream_id}:{who}:{slowmode}", slowmode))
        refusal = await self._shared_limits.take(limits)
        if refusal is None:
            return
        self._people.give_back(person)
        if ip is not None:
            self._ips.give_back(ip)
        if refusal.limit.key.startswith("chat:slow:"):
            raise _slowed_down(slowmode, timedelta(seconds=refusal.wait))
        raise _too_fast(refusal.wait)

    def _check_slowmode(
        self,
        author_key: str,
        stream_id: int,
        slowmode: int,
        last_at: datetime | None,
        now: datetime,
    ) -> None:
        """Refuse a message too soon after the author's last one.

        The database knows the last *stored* message; two messages sent at the same moment are
        both still on their way there, so the shared slow-mode limit decides between them (on
        any replica), and this process also remembers the last one it let through, to refuse
        the next for free. (For guests, whose stored messages carry no id, those are all there is.)
        """
        claimed = self._slowmode_claims.get((author_key, stream_id))
        if claimed is not None and (last_at is None or claimed > last_at):
            last_at = claimed
        if last_at is not None and now - last_at < timedelta(seconds=slowmode):
            raise _slowed_down(slowmode, timedelta(seconds=slowmode) - (now - last_at))

    def _claim_slowmode(self, author_key: str, stream_id: int, now: datetime) -> None:
        key = (author_key, stream_id)
        if len(self._slowmode_claims) > 50_000:
            oldest = now - timedelta(hours=6)  # the longest slow mode
            self._slowmode_claims = {k: t for k, t in self._slowmode_claims.items() if t > oldest}
        self._slowmode_claims[key] = now

    async def _author_state(self, stream: Stream, author: ChatAuthor) -> _AuthorState:
        """Role, slow mode, the author's last message and the open session; refuses muted authors.

        One query (shared by the messages that arrive together), because every message pays.
        """
        row = await self._states.read(author.user_id, stream.id, to_db(self._clock.now()))
        if row["muted"]:
            kind, _, expires = str(row["muted"]).partition("|")
            if kind == "ban":
                raise Forbidden("A moderator has banned you from the chat.")
            until = from_db(expires)
            if until is None:
                raise Forbidden("A moderator has timed you out of the chat.")
            raise Forbidden(
                "A moderator has timed you out of the chat for %(wait)s.",
                wait=Duration((until - self._clock.now()).total_seconds()),
            )
        role: Role
        if author.user_id is None:
            role = "guest"
        elif author.user_id == stream.owner_id:
            role = "streamer"
        elif row["moderator"]:
            role = "moderator"
        else:
            role = "member"
        return _AuthorState(
            role, int(row["slowmode"] or 0), from_db(row["last_at"]), row["session_id"]
        )

    async def _store(
        self,
        stream: Stream,
        session_id: int | None,
        author: ChatAuthor,
        name: str,
        role: Role,
        body: str,
        source: Source,
        discord_message_id: int | None,
        origin_thread_id: int | None,
    ) -> ChatMessage:
        message = ChatMessage(
            id=0,  # handed out on writing
            stream_id=stream.id,
            session_id=session_id,
            source=source,
            author_id=author.user_id,
            author_name=name,
            author_role=role,
            body=body,
            created_at=self._clock.now(),
            hidden=False,
            discord_message_id=discord_message_id,
        )
        posted = ChatMessagePosted(message, stream, origin_thread_id)
        message_id = await self._inserts.submit(_NewMessage(posted))
        return dataclasses.replace(message, id=message_id)

    async def flush(self) -> None:
        """Wait for messages still being stored (at shutdown)."""
        await self._inserts.flush()

    async def _insert_batch(self, items: list[_NewMessage]) -> list[int]:
        return await self._db.run_transaction(lambda tx: _insert_messages(tx, items))

    async def queue_for_room(self, event: ChatEvent) -> None:
        """Viewers in the room see the message appear (or go), over LiveKit data: queued here at
        once, sent by the room's sender in the background."""
        if event.stream.active and event.stream.room_name is not None:
            packet: dict[str, Any] = (
                {"type": "message", "message": message_json(event.message)}
                if event.kind == "message"
                else {"type": "hide", "id": event.message.id}
            )
            self._room.queue(event.stream.room_name, packet)

    async def hide_messages_of_banned(self, event: SanctionEvent) -> None:
        """A chat ban hides the member's visible messages on the page and in Discord."""
        sanction = event.sanction
        if sanction.kind != "ban" or sanction.scope not in ("chat", "both"):
            return
        rows = await self._db.fetch_all(
            "SELECT id FROM chat_messages WHERE author_id = ? AND hidden_at IS NULL",
            (sanction.user_id,),
        )
        for row in rows:
            await self.hide(row["id"], moderator_id=None)


@functools.lru_cache(maxsize=8)
def _rules_by_role(rules: ChatSettings) -> _MessageRules:
    # Built once per ChatRules (tests swap them): a message pays no set-up.
    return _MessageRules(
        message_rules(rules, privileged=False),
        message_rules(rules, privileged=True),
        text_rules.BlockedWords(rules.blocked_words),
    )


# The name shown beside a message: a guest's chosen name or a member's Discord name. Links are
# left alone ("bob.dev" is a fine Discord name); invisible characters go, so a name can't reorder
# the line it heads.
NAME_RULES = text_rules.FieldRules(
    name=N_("A chat name"), max_length=NAME_MAX, required="Choose a name to chat with."
)


def _flood_person(author: ChatAuthor, ip: str | None) -> str:
    """Who the flood limit counts: a member by id, a guest by address and chosen name."""
    return f"u:{author.user_id}" if author.user_id is not None else f"g:{ip}:{author.name}"


def _too_fast(wait: float) -> RateLimited:
    return RateLimited(
        "You're sending messages too fast. Try again in %(wait)s.",
        wait=Duration(max(1, round(wait))),
    )


def _slowed_down(slowmode: int, wait: timedelta) -> RateLimited:
    return RateLimited(
        "Slow mode is on: one message every %(every)s. Try again in %(wait)s.",
        every=Duration(slowmode),
        wait=Duration(max(1, wait.total_seconds())),
    )


def _slowmode_author(author: ChatAuthor, ip: str | None) -> str:
    """Who slow mode counts: a member by id; a guest by address, as the flood limit sees them.

    Not by the guest's name, which costs nothing to change between two messages.
    """
    if author.user_id is not None:
        return f"u:{author.user_id}"
    return f"ip:{ip}" if ip is not None else f"g:{author.name}"


def _clean_name(name: str) -> str:
    return text_rules.apply(NAME_RULES, name)


async def _hidden_in(tx: Transaction, message_id: int) -> ChatMessageHidden:
    """The ChatMessageHidden of a message hidden in `tx`, as the outbox records it."""
    row = await tx.fetch_one("SELECT * FROM chat_messages WHERE id = ?", (message_id,))
    assert row is not None  # noqa: S101 - just updated
    stream = await tx.fetch_one("SELECT * FROM streams WHERE id = ?", (row["stream_id"],))
    assert stream is not None  # noqa: S101 - a message's stream (foreign key)
    return ChatMessageHidden(_message(row), stream_from_row(stream))


def _message(row: Row) -> ChatMessage:
    created = from_db_required(row["created_at"])
    return ChatMessage(
        id=row["id"],
        stream_id=row["stream_id"],
        session_id=row["session_id"],
        source=row["source"],
        author_id=row["author_id"],
        author_name=row["author_name"],
        author_role=row["author_role"],
        body=row["body"],
        created_at=created,
        hidden=row["hidden_at"] is not None,
        discord_message_id=row["discord_message_id"],
    )


def _thread(row: Row) -> ChatThread:
    return ChatThread(
        thread_id=row["thread_id"],
        session_id=row["session_id"],
        stream_id=row["stream_id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
    )

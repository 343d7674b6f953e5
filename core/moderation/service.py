"""Moderation: who moderates, bans / timeouts / kicks, reports, and the audit log of every action.

Everything here lives in the database (not in memory), so the bot and any `golive web` replica
see the same bans. The web knows a member's id but not their Discord permissions, so the bot
writes down whether a member is a moderator each time it sees them act (`remember_moderator`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from core.kernel import text as text_rules
from core.kernel.clock import Clock
from core.kernel.errors import Conflict, Forbidden, InvalidInput, LiveKitUnavailable, NotFound
from core.kernel.events import EventBus
from core.kernel.i18n import N_, Duration, Phrase
from core.kernel.timefmt import from_db, from_db_required, human_duration, to_db
from core.livekit import LiveKitGateway, is_viewer_of
from core.store import Database, Row, SyncTransaction, Transaction
from core.streams import StreamService

log = logging.getLogger(__name__)

BanScope = Literal["chat", "streaming", "both"]
ReportOutcome = Literal["dismissed", "ended", "banned"]
REASON_MAX = 500
REPORT_REASON_MAX = 1000

# An active sanction: not lifted, and either permanent or not expired yet.
_ACTIVE = "lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"

# A kick covers the addresses its member fetched viewer tokens from within this long.
ADDRESS_MEMORY = timedelta(days=1)
# A member's address is written again only this often (a token request is the hot path).
ADDRESS_REWRITE = timedelta(minutes=5)
# Guest token requests read kicked addresses from a copy at most this old (another process's
# kick reaches this one within that time; this process's own kicks at once).
KICKED_ADDRESSES_MAX_AGE = timedelta(seconds=5)


@dataclass(frozen=True)
class Sanction:
    id: int
    user_id: int
    kind: str  # 'ban', 'timeout' or 'kick'
    scope: str  # 'chat', 'streaming', 'both' (bans), 'chat' (timeouts), 'watch' (kicks)
    reason: str
    moderator_id: int
    created_at: datetime
    expires_at: datetime | None

    def until_text(self, now: datetime) -> Phrase:
        """How long it lasts ("for good", "for 1h 12m"), said later in the reader's language."""
        if self.expires_at is None:
            return Phrase(N_("for good"))
        return Phrase(
            N_("for %(wait)s"), {"wait": Duration((self.expires_at - now).total_seconds())}
        )


@dataclass(frozen=True)
class ModAction:
    id: int
    moderator_id: int
    action: str
    target_id: int | None
    stream_id: int | None
    details: str
    created_at: datetime


@dataclass(frozen=True)
class Report:
    id: int
    guild_id: int
    reporter_id: int
    member_id: int
    reason: str
    status: str
    created_at: datetime
    handled_by: int | None
    outcome: str | None


@dataclass(frozen=True)
class SanctionEvent:
    """A ban, timeout or kick that took effect; chat hides a banned member's messages, the
    stage lets go of them."""

    sanction: Sanction


async def record_action(
    tx: Transaction,
    now: datetime,
    *,
    moderator_id: int,
    action: str,
    target_id: int | None = None,
    stream_id: int | None = None,
    details: str = "",
) -> None:
    """Write one moderator action to the audit log, inside the caller's transaction."""
    await tx.insert(
        "INSERT INTO mod_actions (moderator_id, action, target_id, stream_id, details, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (moderator_id, action, target_id, stream_id, details, to_db(now)),
    )


class ModerationService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        livekit: LiveKitGateway,
        streams: StreamService,
        *,
        kick_block: timedelta,
        events: EventBus | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._livekit = livekit
        self._streams = streams
        self.kick_block = kick_block
        # Told after a ban or timeout is committed (chat hides a banned member's messages).
        self._events = events or EventBus()
        self._addresses_written: dict[tuple[int, str], datetime] = {}
        self._addresses_pruned_at: datetime | None = None
        self._kicked_addresses: dict[str, datetime] = {}
        self._kicked_read_at: datetime | None = None
        self._kicked_reading = asyncio.Lock()

    # -- who moderates -------------------------------------------------------------------------

    async def remember_moderator(self, user_id: int, guild_id: int, is_moderator: bool) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO moderators (user_id, guild_id, is_moderator, seen_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, guild_id) DO UPDATE SET"
                " is_moderator = excluded.is_moderator, seen_at = excluded.seen_at",
                (user_id, guild_id, int(is_moderator), to_db(self._clock.now())),
            )

    async def is_moderator(self, user_id: int) -> bool:
        """A moderator in any guild of this deployment (bans are deployment-wide too)."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM moderators WHERE user_id = ? AND is_moderator = 1 LIMIT 1", (user_id,)
        )
        return row is not None

    async def set_mod_log_channel(self, guild_id: int, channel_id: int | None) -> None:
        await self._set_setting(guild_id, "mod_log_channel_id", channel_id)

    async def set_moderator_role(self, guild_id: int, role_id: int | None) -> None:
        await self._set_setting(guild_id, "moderator_role_id", role_id)

    async def mod_log_channel(self, guild_id: int) -> int | None:
        return await self._setting(guild_id, "mod_log_channel_id")

    async def moderator_role(self, guild_id: int) -> int | None:
        return await self._setting(guild_id, "moderator_role_id")

    async def _set_setting(self, guild_id: int, column: str, value: int | None) -> None:
        assert column in ("mod_log_channel_id", "moderator_role_id")  # noqa: S101 - not user input
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO moderation_settings (guild_id, {column}, updated_at) VALUES (?, ?, ?)"  # noqa: S608 - fixed column names
                f" ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column},"
                " updated_at = excluded.updated_at",
                (guild_id, value, to_db(self._clock.now())),
            )

    async def _setting(self, guild_id: int, column: str) -> int | None:
        row = await self._db.fetch_one(
            "SELECT mod_log_channel_id, moderator_role_id FROM moderation_settings"
            " WHERE guild_id = ?",
            (guild_id,),
        )
        return None if row is None else row[column]

    # -- checks other services ask -------------------------------------------------------------

    async def active_sanctions(self, user_id: int) -> list[Sanction]:
        rows = await self._db.fetch_all(
            f"SELECT * FROM sanctions WHERE user_id = ? AND {_ACTIVE} ORDER BY id",  # noqa: S608 - constant
            (user_id, to_db(self._clock.now())),
        )
        return [_sanction(row) for row in rows]

    async def check_may_stream(self, user_id: int) -> None:
        """Raise Forbidden if the member is banned from streaming (a go-live check)."""
        for sanction in await self.active_sanctions(user_id):
            if sanction.kind == "ban" and sanction.scope in ("streaming", "both"):
                raise Forbidden(
                    "A moderator has banned you from streaming %(until)s.",
                    until=sanction.until_text(self._clock.now()),
                )

    async def check_may_watch(self, user_id: int) -> None:
        """Raise Forbidden while a kick blocks new viewer tokens."""
        for sanction in await self.active_sanctions(user_id):
            if sanction.kind == "kick" and sanction.expires_at is not None:
                wait = Duration((sanction.expires_at - self._clock.now()).total_seconds())
                raise Forbidden(
                    "A moderator removed you from the stream. You can watch again in %(wait)s.",
                    wait=wait,
                )

    async def remember_viewer_address(self, user_id: int, ip: str) -> None:
        """Note where a signed-in member watches from, so a kick can cover that browser too."""
        now = self._clock.now()
        written = self._addresses_written.get((user_id, ip))
        if written is not None and now - written < ADDRESS_REWRITE:
            return
        prune = self._addresses_pruned_at is None or now - self._addresses_pruned_at > timedelta(
            hours=1
        )

        def write(tx: SyncTransaction) -> None:
            tx.execute(
                "INSERT INTO viewer_addresses (user_id, ip, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, ip) DO UPDATE SET seen_at = excluded.seen_at",
                (user_id, ip, to_db(now)),
            )
            if prune:
                tx.execute(
                    "DELETE FROM viewer_addresses WHERE seen_at < ?", (to_db(now - ADDRESS_MEMORY),)
                )

        # One hop to the database's thread: this runs on signed-in token requests.
        await self._db.run_transaction(write)
        if prune:
            self._addresses_pruned_at = now
        if len(self._addresses_written) > 50_000:
            self._addresses_written.clear()
        self._addresses_written[(user_id, ip)] = now

    async def check_guest_may_watch(self, ip: str) -> None:
        """Raise Forbidden while a kick covers this address (a kicked member without the cookie).

        Everyone watching as a guest from that address is refused until the kick ends; members
        there can still sign in and watch, since the kick names one member.
        """
        now = self._clock.now()
        if self._kicked_read_at is None or now - self._kicked_read_at >= KICKED_ADDRESSES_MAX_AGE:
            await self._read_kicked_addresses()
        until = self._kicked_addresses.get(ip)
        if until is not None and until > now:
            wait = Duration((until - now).total_seconds())
            raise Forbidden(
                "A moderator removed a viewer at this address from the stream. Guests from here "
                "can watch again in %(wait)s; members can sign in with the Watch button in Discord.",
                wait=wait,
            )

    async def _read_kicked_addresses(self) -> None:
        async with self._kicked_reading:
            now = self._clock.now()
            if self._kicked_read_at is not None and now - self._kicked_read_at < (
                KICKED_ADDRESSES_MAX_AGE
            ):
                return  # another request read them while this one waited
            rows = await self._db.fetch_all(
                "SELECT a.ip, MAX(s.expires_at) AS until FROM sanctions s"
                " JOIN viewer_addresses a ON a.user_id = s.user_id"
                " WHERE s.kind = 'kick' AND s.lifted_at IS NULL AND s.expires_at > ?"
                " AND a.seen_at > ? GROUP BY a.ip",
                (to_db(now), to_db(now - ADDRESS_MEMORY)),
            )
            self._kicked_addresses = {row["ip"]: from_db_required(row["until"]) for row in rows}
            self._kicked_read_at = now

    async def stage_block(self, user_id: int) -> Sanction | None:
        """The ban, timeout or kick that keeps a member off every stage, if any."""
        for sanction in await self.active_sanctions(user_id):
            if sanction.kind in ("ban", "timeout", "kick"):
                return sanction
        return None

    # -- actions -------------------------------------------------------------------------------

    async def ban(
        self,
        *,
        moderator_id: int,
        user_id: int,
        scope: BanScope,
        duration: timedelta | None,
        reason: str = "",
    ) -> Sanction:
        """Ban from chat, streaming or both. A streaming ban also ends the member's live stream."""
        reason = _reason(reason)
        sanction = await self._sanction(
            moderator_id=moderator_id,
            user_id=user_id,
            kind="ban",
            scope=scope,
            duration=duration,
            reason=reason,
            action=f"ban:{scope}",
        )
        if scope in ("streaming", "both"):
            stream = await self._streams.find_by_owner(user_id)
            if stream is not None and stream.active:
                with contextlib.suppress(Conflict):  # it ended on its own meanwhile
                    await self._streams.end_stream(stream, "moderator")
        await self._events.publish(SanctionEvent(sanction))
        return sanction

    async def timeout(
        self, *, moderator_id: int, user_id: int, duration: timedelta, reason: str = ""
    ) -> Sanction:
        if duration <= timedelta(0):
            raise InvalidInput("A timeout needs a duration.")
        sanction = await self._sanction(
            moderator_id=moderator_id,
            user_id=user_id,
            kind="timeout",
            scope="chat",
            duration=duration,
            reason=_reason(reason),
            action="timeout",
        )
        await self._events.publish(SanctionEvent(sanction))
        return sanction

    async def unban(self, *, moderator_id: int, user_id: int, scope: BanScope | None = None) -> int:
        """Lift active bans (and chat timeouts, when chat is in scope). Returns how many.

        A 'both' ban is lifted whole by an unban of either scope: it was one decision.
        """
        chat = scope in (None, "chat", "both")
        streaming = scope in (None, "streaming", "both")
        now = self._clock.now()
        async with self._db.transaction() as tx:
            lifted = await tx.execute(
                "UPDATE sanctions SET lifted_at = ?, lifted_by = ? WHERE user_id = ?"
                " AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"
                " AND ((? AND (kind = 'timeout' OR (kind = 'ban' AND scope IN ('chat', 'both'))))"
                "  OR (? AND kind = 'ban' AND scope IN ('streaming', 'both')))",
                (to_db(now), moderator_id, user_id, to_db(now), chat, streaming),
            )
            if not lifted:
                raise Conflict("That member has no active ban or timeout to lift.")
            await record_action(
                tx,
                now,
                moderator_id=moderator_id,
                action="unban" if scope is None else f"unban:{scope}",
                target_id=user_id,
                details=f"lifted {lifted}",
            )
        return lifted

    async def kick(self, *, moderator_id: int, user_id: int, reason: str = "") -> int:
        """Remove the member's viewer connections from every live room and block new tokens.

        Returns how many connections were removed. The block is written first, so a tab that
        reconnects during the removal is refused its new token.
        """
        sanction = await self._sanction(
            moderator_id=moderator_id,
            user_id=user_id,
            kind="kick",
            scope="watch",
            duration=self.kick_block,
            reason=_reason(reason),
            action="kick",
        )
        self._kicked_read_at = None  # guests from the member's addresses are refused from now
        removed = 0
        for stream in await self._streams.list_live(limit=10_000):
            if stream.room_name is None:
                continue
            try:
                participants = await self._livekit.list_participants(stream.room_name)
                for participant in participants:
                    if is_viewer_of(participant.identity, user_id):
                        removed += await self._livekit.remove_participant(
                            stream.room_name, participant.identity
                        )
            except LiveKitUnavailable:
                log.warning("could not remove user %s from room %s", user_id, stream.room_name)
        await self._events.publish(SanctionEvent(sanction))
        return removed

    async def end_stream(self, *, moderator_id: int, owner_id: int, reason: str = "") -> None:
        stream = await self._streams.find_by_owner(owner_id)
        if stream is None or not stream.active:
            raise Conflict("That member is not live right now.")
        await self._streams.end_stream(stream, "moderator")
        async with self._db.transaction() as tx:
            await record_action(
                tx,
                self._clock.now(),
                moderator_id=moderator_id,
                action="end_stream",
                target_id=owner_id,
                stream_id=stream.id,
                details=_reason(reason),
            )

    async def audit_log(self, target_id: int | None = None, limit: int = 15) -> list[ModAction]:
        if target_id is None:
            rows = await self._db.fetch_all(
                "SELECT * FROM mod_actions ORDER BY id DESC LIMIT ?", (limit,)
            )
        else:
            rows = await self._db.fetch_all(
                "SELECT * FROM mod_actions WHERE target_id = ? ORDER BY id DESC LIMIT ?",
                (target_id, limit),
            )
        return [
            ModAction(
                id=row["id"],
                moderator_id=row["moderator_id"],
                action=row["action"],
                target_id=row["target_id"],
                stream_id=row["stream_id"],
                details=row["details"],
                created_at=from_db_required(row["created_at"]),
            )
            for row in rows
        ]

    # -- reports -------------------------------------------------------------------------------

    async def file_report(
        self, *, guild_id: int, reporter_id: int, member_id: int, reason: str
    ) -> Report:
        reason = text_rules.note(
            reason,
            name=N_("A report"),
            max_length=REPORT_REASON_MAX,
            required=N_("Say briefly what happened, so moderators can act on it."),
        )
        if reporter_id == member_id:
            raise InvalidInput("You can't report yourself.")
        async with self._db.transaction() as tx:
            report_id = await tx.insert(
                "INSERT INTO reports (guild_id, reporter_id, member_id, reason, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (guild_id, reporter_id, member_id, reason, to_db(self._clock.now())),
            )
        return await self.get_report(report_id)

    async def withdraw_report(self, report_id: int) -> None:
        """Forget a report that could not be delivered to the mod-log channel."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM reports WHERE id = ? AND status = 'open'", (report_id,))

    async def get_report(self, report_id: int) -> Report:
        row = await self._db.fetch_one("SELECT * FROM reports WHERE id = ?", (report_id,))
        if row is None:
            raise NotFound("That report no longer exists.")
        return Report(
            id=row["id"],
            guild_id=row["guild_id"],
            reporter_id=row["reporter_id"],
            member_id=row["member_id"],
            reason=row["reason"],
            status=row["status"],
            created_at=from_db_required(row["created_at"]),
            handled_by=row["handled_by"],
            outcome=row["outcome"],
        )

    async def close_report(
        self, *, report_id: int, moderator_id: int, outcome: ReportOutcome
    ) -> Report:
        """Mark a report handled; exactly one of two racing moderators wins."""
        now = self._clock.now()
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE reports SET status = ?, handled_by = ?, handled_at = ?, outcome = ?"
                " WHERE id = ? AND status = 'open'",
                (
                    "dismissed" if outcome == "dismissed" else "actioned",
                    moderator_id,
                    to_db(now),
                    outcome,
                    report_id,
                ),
            )
            if not changed:
                raise Conflict("This report has already been handled.")
            row = await tx.fetch_one("SELECT member_id FROM reports WHERE id = ?", (report_id,))
            assert row is not None  # noqa: S101 - just updated
            await record_action(
                tx,
                now,
                moderator_id=moderator_id,
                action=f"report:{outcome}",
                target_id=row["member_id"],
                details=f"report #{report_id}",
            )
        return await self.get_report(report_id)

    # -- helpers -------------------------------------------------------------------------------

    async def _sanction(
        self,
        *,
        moderator_id: int,
        user_id: int,
        kind: str,
        scope: str,
        duration: timedelta | None,
        reason: str,
        action: str,
    ) -> Sanction:
        if moderator_id == user_id:
            raise InvalidInput("You can't do that to yourself.")
        now = self._clock.now()
        expires = None if duration is None else now + duration
        async with self._db.transaction() as tx:
            sanction_id = await tx.insert(
                "INSERT INTO sanctions (user_id, kind, scope, reason, moderator_id, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    kind,
                    scope,
                    reason,
                    moderator_id,
                    to_db(now),
                    None if expires is None else to_db(expires),
                ),
            )
            details = "permanent" if duration is None else human_duration(duration.total_seconds())
            await record_action(
                tx,
                now,
                moderator_id=moderator_id,
                action=action,
                target_id=user_id,
                details=f"{details}; {reason}" if reason else details,
            )
        return Sanction(
            id=sanction_id,
            user_id=user_id,
            kind=kind,
            scope=scope,
            reason=reason,
            moderator_id=moderator_id,
            created_at=now,
            expires_at=expires,
        )


def _reason(reason: str) -> str:
    return text_rules.note(reason, name=N_("A reason"), max_length=REASON_MAX)


def _sanction(row: Row) -> Sanction:
    return Sanction(
        id=row["id"],
        user_id=row["user_id"],
        kind=row["kind"],
        scope=row["scope"],
        reason=row["reason"],
        moderator_id=row["moderator_id"],
        created_at=from_db_required(row["created_at"]),
        expires_at=from_db(row["expires_at"]),
    )

"""What going live costs: a fee per go-live, or a monthly streaming pass (config `fees.mode`).

`GoLiveFees` is the go-live gate (core/golive_gate.py) that StreamService asks before opening a
room: in "per_golive" mode it charges `fees.golive_fee` through `Ledger.pay_to_go_live` (the
go-live's request key is the idempotency key, so a retried command pays once) and refunds it if
the stream could not go live; in "pass" mode it only lets members with a valid pass through.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.config import FeesSettings
from core.kernel.clock import Clock
from core.kernel.errors import Conflict, NotFound, PaymentRefused
from core.kernel.events import EventBus
from core.kernel.i18n import Credits, Phrase
from core.kernel.timefmt import from_db, from_db_required, to_db
from core.money import notes
from core.money.ledger import Ledger, fingerprint
from core.store import Database, Row, record
from core.streams import Stream, StreamSession

log = logging.getLogger(__name__)

# A go-live takes seconds (LiveKit calls are bounded at 5 s). A fee older than this, neither
# spent on a session nor refunded, belongs to a go-live that died with its process: give it back.
ABANDONED_AFTER = timedelta(minutes=5)
REMIND_BEFORE = timedelta(days=1)


@dataclass(frozen=True)
class StreamingPass:
    member_id: int
    paid_until: datetime
    auto_renew: bool

    def active(self, now: datetime) -> bool:
        return self.paid_until > now


@dataclass(frozen=True)
class Renewal:
    """A pass renewal that was due: renewed from the balance, or ended (published as an event)."""

    member_id: int
    renewed: bool
    paid_until: datetime
    reason: Phrase | None = None  # why it ended, said in the member's language


class PassService:
    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        clock: Clock,
        policy: FeesSettings,
        events: EventBus | None = None,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._clock = clock
        self.policy = policy
        # Told of each renewal (the bot DMs the member).
        self._events = events or EventBus()

    async def status(self, member_id: int) -> StreamingPass | None:
        row = await self._db.fetch_one(
            "SELECT * FROM streaming_passes WHERE member_id = ?", (member_id,)
        )
        return None if row is None else _pass(row)

    async def require_active(self, member_id: int) -> None:
        found = await self.status(member_id)
        if found is None or not found.active(self._clock.now()):
            raise PaymentRefused(
                "Going live needs a streaming pass (%(price)s for %(days)s days). "
                "Buy one with `/wallet pass buy`.",
                price=Credits(self.policy.pass_price),
                days=self.policy.pass_days,
            )

    async def buy(self, member_id: int, key: str) -> StreamingPass:
        """Pay for one period, added after the current one (or from now if none is running)."""
        if self.policy.mode != "pass":
            raise Conflict("This community doesn't use streaming passes.")
        await self._charge_period(member_id, key, auto_renew=True)
        found = await self.status(member_id)
        assert found is not None  # noqa: S101 - just written
        return found

    async def cancel(self, member_id: int) -> StreamingPass:
        """Stop renewing; the pass stays valid until the end of the period already paid."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE streaming_passes SET auto_renew = 0, updated_at = ? WHERE member_id = ?",
                (to_db(self._clock.now()), member_id),
            )
        if not changed:
            raise NotFound("You have no streaming pass to cancel.")
        found = await self.status(member_id)
        assert found is not None  # noqa: S101 - just updated
        return found

    async def renew_due(self) -> list[Renewal]:
        """Renew every pass that ran out and should renew, from the member's balance.

        The renewal's key names the period it pays for, so running this twice (two processes,
        a restart) never charges a period twice. A member who can't pay stops renewing.
        """
        now = self._clock.now()
        rows = await self._db.fetch_all(
            "SELECT * FROM streaming_passes WHERE auto_renew = 1 AND paid_until <= ?", (to_db(now),)
        )
        renewals: list[Renewal] = []
        for row in rows:
            renewal = await self._renew(_pass(row), now)
            if renewal is None:
                continue  # another process (or an earlier run) renewed or ended it, and told
            renewals.append(renewal)
            await self._events.publish(renewal)  # after its commit: delivery starts here
        return renewals

    async def _renew(self, current: StreamingPass, now: datetime) -> Renewal | None:
        """Charge the next period, or stop renewing if the member can't pay; the member's DM
        (a `Renewal`) is recorded in the same transaction, so it exists exactly when the
        change does. None: nothing changed now."""
        key = f"pass-renewal:{current.member_id}:{to_db(current.paid_until)}"
        try:
            return await self._charge_period(current.member_id, key, auto_renew=True, tell=True)
        except PaymentRefused as refusal:
            return await self._stop_renewing(current, now, Phrase(refusal.msgid, refusal.params))

    async def reminders_due(self) -> list[StreamingPass]:
        """Passes renewing within a day whose member wasn't told yet; each is claimed once."""
        now = self._clock.now()
        rows = await self._db.fetch_all(
            "SELECT * FROM streaming_passes WHERE auto_renew = 1 AND paid_until > ?"
            " AND paid_until <= ? AND (reminded_until IS NULL OR reminded_until <> paid_until)",
            (to_db(now), to_db(now + REMIND_BEFORE)),
        )
        claimed: list[StreamingPass] = []
        for row in rows:
            async with self._db.transaction() as tx:
                won = await tx.execute(
                    "UPDATE streaming_passes SET reminded_until = paid_until WHERE member_id = ?"
                    " AND (reminded_until IS NULL OR reminded_until <> paid_until)",
                    (row["member_id"],),
                )
            if won:
                claimed.append(_pass(row))
        return claimed

    async def _charge_period(
        self, member_id: int, key: str, *, auto_renew: bool, tell: bool = False
    ) -> Renewal | None:
        """Pay one period. `tell`: record the member's DM (a `Renewal`) in the charge's own
        transaction and return it; None when `key` was paid before (nothing charged now)."""
        price, days = self.policy.pass_price, self.policy.pass_days
        fp = fingerprint("pass", member=member_id, price=price, days=days)
        ledger, now = self._ledger, self._clock.now()
        async with self._db.transaction() as tx:
            if await ledger.find_replay(tx, key, fp) is not None:
                return None
            legs = await ledger.charge_legs(
                tx,
                member_id,
                price,
                "fees",
                member_note=notes.written(notes.STREAMING_PASS, days=days),
                platform_note=f"Streaming pass of {member_id}",
            )
            await ledger.post(
                tx, kind="pass", key=key, fingerprint_=fp, actor_id=member_id, legs=legs
            )
            row = await tx.fetch_one(
                "SELECT paid_until FROM streaming_passes WHERE member_id = ?", (member_id,)
            )
            current = from_db(row["paid_until"]) if row else None
            start = max(now, current) if current else now
            # As stored (whole seconds, UTC): the DM tells the time the pass row holds.
            paid_until = from_db_required(to_db(start + timedelta(days=days)))
            await tx.execute(
                "INSERT INTO streaming_passes (member_id, paid_until, auto_renew, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE SET"
                " paid_until = excluded.paid_until, auto_renew = excluded.auto_renew,"
                " updated_at = excluded.updated_at",
                (member_id, to_db(paid_until), int(auto_renew), to_db(now)),
            )
            if not tell:
                return None
            renewed = Renewal(member_id, True, paid_until)
            await record(tx, renewed, at=now)  # the member's DM, delivered by the bot
        return renewed

    async def _stop_renewing(
        self, current: StreamingPass, now: datetime, reason: Phrase
    ) -> Renewal | None:
        """End a pass whose renewal was refused, with the member's DM in the same transaction.
        Only a pass still due and renewing: another process may have ended it (and told the
        member), or the member bought a new period meanwhile."""
        async with self._db.transaction() as tx:
            stopped = await tx.execute(
                "UPDATE streaming_passes SET auto_renew = 0, updated_at = ?"
                " WHERE member_id = ? AND auto_renew = 1 AND paid_until <= ?",
                (to_db(self._clock.now()), current.member_id, to_db(now)),
            )
            if not stopped:
                return None
            ended = Renewal(current.member_id, False, current.paid_until, reason)
            await record(tx, ended, at=now)  # the member's DM, delivered by the bot
        return ended


class GoLiveFees:
    """The go-live gate that charges (or checks a pass) before StreamService opens a room."""

    def __init__(
        self, ledger: Ledger, passes: PassService, clock: Clock, policy: FeesSettings
    ) -> None:
        self._ledger = ledger
        self._passes = passes
        self._clock = clock
        self.policy = policy

    async def admit(self, stream: Stream, request_key: str) -> object:
        if self.policy.mode == "pass":
            await self._passes.require_active(stream.owner_id)
            return None
        amount = self.policy.golive_fee
        if amount <= 0:
            return None
        await self._refund_abandoned(stream.owner_id)
        result = await self._ledger.pay_to_go_live(
            stream.owner_id, stream.slug, amount, f"golive-fee:{request_key}"
        )
        if not result.ok or result.record_id is None:
            refusal = result.refusal
            raise PaymentRefused(
                "Going live costs %(price)s. %(reason)s Top up with `/wallet topup`.",
                price=Credits(amount),
                reason=Phrase(refusal.msgid, refusal.params) if refusal else result.reason or "",
            )
        fee = await self._ledger.fee(result.record_id)
        if fee.refunded or fee.session_id is not None:
            # A retry of a go-live that already ended one way or the other.
            raise Conflict("That go-live request was already used. Run `/stream golive` again.")
        return fee.id

    async def opened(self, ticket: object, session: StreamSession) -> None:
        if isinstance(ticket, int):
            await self._ledger.attach_fee_to_session(ticket, session.id)

    async def failed(self, ticket: object) -> None:
        if isinstance(ticket, int):
            await self._ledger.refund_fee(ticket)

    async def _refund_abandoned(self, member_id: int) -> None:
        for fee_id in await self._ledger.unsettled_fees(
            member_id, self._clock.now() - ABANDONED_AFTER
        ):
            log.warning("refunding go-live fee %s of an interrupted go-live", fee_id)
            await self._ledger.refund_fee(fee_id)


def _pass(row: Row) -> StreamingPass:
    return StreamingPass(
        member_id=row["member_id"],
        paid_until=from_db_required(row["paid_until"]),
        auto_renew=bool(row["auto_renew"]),
    )

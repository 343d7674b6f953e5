"""Tips: the rules around `Ledger.send_stream_donation`, the alerts, refunds and leaderboards.

The ledger moves the credits; this service decides what a tip may look like (limits, a clean
message), publishes each new tip (golive/event_table.py: the bot DMs the streamer, and
`show_in_room` sends a LiveKit data packet on topic "tips" into the live room), and answers the
leaderboards.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from core.accounts import Identity
from core.config import TipsSettings
from core.kernel import text
from core.kernel.clock import Clock
from core.kernel.errors import (
    InvalidInput,
    LiveKitUnavailable,
    NotFound,
    PaymentRefused,
)
from core.kernel.events import EventBus
from core.kernel.i18n import N_, Credits
from core.kernel.timefmt import to_db
from core.livekit import LiveKitGateway
from core.money.ledger import Ledger, Tip
from core.store import Database, Row, SyncTransaction, record
from core.streams import Stream, StreamService, stream_from_row

log = logging.getLogger(__name__)

TIPS_TOPIC = "tips"
Period = Literal["week", "all"]


def tip_message_rules(policy: TipsSettings) -> text.FieldRules:
    """A tip message is read aloud on stream: links (an advert, a phishing lure) and
    invisible characters are taken out and blocked words masked, rather than losing the tip."""
    return text.FieldRules(
        name=N_("A tip message"),
        max_length=policy.message_max,
        links="strip",
        invisible="strip",
        blocked_words="mask",
        # Measured as typed: the tip form counts characters the same way.
        measure_raw=True,
    )


@dataclass(frozen=True)
class TipEvent:
    """A tip that was just made (never a replay)."""

    tip: Tip
    stream: Stream
    donor_balance: int


@dataclass(frozen=True)
class TipOutcome:
    tip: Tip
    stream: Stream
    donor_balance: int
    replayed: bool


@dataclass(frozen=True)
class Standing:
    member_id: int
    name: str
    total: int
    count: int


@dataclass(frozen=True)
class RefundableTip:
    """A tip a moderator could still give back, with what tells it apart from the others."""

    id: int
    amount: int
    donor_name: str
    streamer_name: str


class TipService:
    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        streams: StreamService,
        livekit: LiveKitGateway,
        clock: Clock,
        policy: TipsSettings,
        events: EventBus | None = None,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._streams = streams
        self._livekit = livekit
        self._clock = clock
        self.policy = policy
        # Told of every new tip (the room alert and the streamer's DM, in the background).
        self._events = events or EventBus()
        self._message_rules = tip_message_rules(policy)
        self._blocked = text.BlockedWords(policy.blocked_words)

    # -- tipping ---------------------------------------------------------------------------------

    def check_amount(self, amount: int) -> int:
        low, high = self.policy.minimum, self.policy.maximum
        if isinstance(amount, bool) or not isinstance(amount, int) or not low <= amount <= high:
            raise InvalidInput(
                "A tip is between %(low)s and %(high)s.", low=Credits(low), high=Credits(high)
            )
        return amount

    def clean_message(self, message: str) -> str:
        """The message as viewers will see it: no links, no invisible characters, blocked words
        masked (core.kernel.text)."""
        return text.apply(self._message_rules, message, self._blocked)

    async def tip_member(
        self, donor: Identity, streamer_id: int, amount: int, message: str, key: str
    ) -> TipOutcome:
        """`/tip member`: a tip to the member's stream page, whether or not they are live."""
        if streamer_id == donor.user_id:
            raise PaymentRefused("You can't tip yourself.")
        stream = await self._streams.find_by_owner(streamer_id)
        if stream is None:
            raise NotFound(
                "That member has no stream page, so they can't receive tips. "
                "Tips go to streamers (`/stream create`)."
            )
        return await self.tip_stream(donor, stream.id, amount, message, key)

    async def tip_stream(
        self, donor: Identity, stream_id: int, amount: int, message: str, key: str
    ) -> TipOutcome:
        amount = self.check_amount(amount)
        clean = self.clean_message(message)
        result = await self._ledger.send_stream_donation(
            donor.user_id, donor.display_name, stream_id, amount, clean, key
        )
        if not result.ok or result.record_id is None:
            if result.refusal is not None:
                raise PaymentRefused(result.refusal.msgid, **result.refusal.params)
            raise PaymentRefused("The tip could not be made.")
        tip = result.tip or await self._ledger.tip(result.record_id)
        stream = await self._streams.get_by_id(stream_id)
        balance = result.balance or 0
        if not result.replayed:
            log.info("tip %s: %s credits to %s", tip.id, tip.amount, stream.slug)
            event = TipEvent(tip=tip, stream=stream, donor_balance=balance)
            # The streamer's DM and the room's alert: in the outbox since the tip's own commit
            # (record_tip_events); publishing starts this process's delivery and inline rows.
            await self._events.publish(event)
        return TipOutcome(tip=tip, stream=stream, donor_balance=balance, replayed=result.replayed)

    async def refund(self, tip_id: int, moderator_id: int, reason: str) -> Tip:
        await self._ledger.refund_tip(tip_id, moderator_id, reason)
        return await self._ledger.tip(tip_id)

    async def refundable(self, limit: int = 25) -> list[RefundableTip]:
        """The newest tips not refunded yet (what a moderator picks a refund from)."""
        rows = await self._db.fetch_all(
            "SELECT t.id, t.amount, t.donor_name, COALESCE(s.owner_name, 'unknown') AS streamer"
            " FROM tips t LEFT JOIN streams s ON s.owner_id = t.streamer_id"
            " WHERE t.refund_transaction_id IS NULL ORDER BY t.id DESC LIMIT ?",
            (limit,),
        )
        return [
            RefundableTip(
                id=int(row["id"]),
                amount=int(row["amount"]),
                donor_name=str(row["donor_name"]),
                streamer_name=str(row["streamer"]),
            )
            for row in rows
        ]

    # -- leaderboards ----------------------------------------------------------------------------

    async def top_donors(
        self, period: Period, streamer_id: int | None = None, limit: int = 10
    ) -> list[Standing]:
        """Who tipped most (refunded tips don't count), community-wide or to one streamer."""
        rows = await self._db.fetch_all(
            "SELECT t.donor_id AS member_id, SUM(t.amount) AS total, COUNT(*) AS n,"
            " (SELECT donor_name FROM tips l WHERE l.donor_id = t.donor_id ORDER BY l.id DESC"
            "  LIMIT 1) AS name"
            " FROM tips t WHERE t.refund_transaction_id IS NULL AND t.created_at >= ?"
            " AND (CAST(? AS BIGINT) IS NULL OR t.streamer_id = ?)"
            " GROUP BY t.donor_id ORDER BY total DESC, t.donor_id LIMIT ?",
            (self._since(period), streamer_id, streamer_id, limit),
        )
        return [_standing(row) for row in rows]

    async def top_streamers(self, period: Period, limit: int = 10) -> list[Standing]:
        """Who received most tips, community-wide."""
        rows = await self._db.fetch_all(
            "SELECT t.streamer_id AS member_id, SUM(t.amount) AS total, COUNT(*) AS n,"
            " COALESCE(s.owner_name, 'unknown') AS name"
            " FROM tips t LEFT JOIN streams s ON s.owner_id = t.streamer_id"
            " WHERE t.refund_transaction_id IS NULL AND t.created_at >= ?"
            " GROUP BY t.streamer_id, s.owner_name ORDER BY total DESC, t.streamer_id LIMIT ?",
            (self._since(period), limit),
        )
        return [_standing(row) for row in rows]

    def _since(self, period: Period) -> str:
        # Stored times are ISO text, so '' sorts before every one of them: "all time".
        return to_db(self._clock.now() - timedelta(days=7)) if period == "week" else ""

    # -- telling people --------------------------------------------------------------------------

    async def show_in_room(self, event: TipEvent) -> None:
        """Viewers of a live stream see the tip on the watch page (LiveKit data, topic "tips")."""
        stream = event.stream
        if not stream.active or stream.room_name is None:
            return
        payload = {
            "type": "tip",
            "id": event.tip.id,
            "from": event.tip.donor_name,
            "amount": event.tip.amount,
            "message": event.tip.message,
        }
        try:
            await self._livekit.send_data(
                stream.room_name, json.dumps(payload).encode(), topic=TIPS_TOPIC
            )
        except LiveKitUnavailable:
            # The credits moved; a missed on-screen alert is not worth failing the tip for.
            log.warning("could not show tip %s in room %s", event.tip.id, stream.room_name)


def _standing(row: Row) -> Standing:
    return Standing(
        member_id=int(row["member_id"]),
        name=str(row["name"]),
        total=int(row["total"]),
        count=int(row["n"]),
    )


def record_tip_events(tx: SyncTransaction, made: list[tuple[Tip, Row, int]]) -> None:
    """The ledger's ``on_tip`` (golive/bootstrap.py): new tips' TipEvents are written in the
    tips' own transaction (one statement for a burst), so a process that dies right after the
    commit loses no alert."""
    events = [
        TipEvent(tip=tip, stream=stream_from_row(stream), donor_balance=balance)
        for tip, stream, balance in made
    ]
    record(tx, *events, at=made[0][0].created_at)

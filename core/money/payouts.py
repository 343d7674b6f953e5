"""Payout requests: streamers ask to withdraw credits; moderators pay them outside and mark them.

Asking moves the credits at once from the member's wallet to the platform's `payouts` account
(so they can't be spent twice while a moderator looks); marking paid only closes the request,
because the money already left the wallet through that recorded transaction; rejecting returns
it with a second transaction. Nothing leaves a wallet any other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from core.kernel import text as text_rules
from core.kernel.clock import Clock
from core.kernel.errors import Conflict, InvalidInput, NotFound, PaymentRefused
from core.kernel.i18n import N_, Credits
from core.kernel.timefmt import from_db, from_db_required, to_db
from core.money import notes
from core.money.ledger import Ledger, fingerprint, require_credits
from core.store import Database, Row

Status = Literal["requested", "paid", "rejected"]
NOTE_MAX = 200


@dataclass(frozen=True)
class PayoutRequest:
    id: int
    member_id: int
    member_name: str
    amount: int
    status: Status
    requested_at: datetime
    decided_at: datetime | None
    decided_by: int | None
    note: str


class PayoutService:
    def __init__(self, db: Database, ledger: Ledger, clock: Clock, minimum: int) -> None:
        self._db = db
        self._ledger = ledger
        self._clock = clock
        self.minimum = minimum

    async def request(
        self, member_id: int, member_name: str, amount: int, key: str
    ) -> PayoutRequest:
        amount = require_credits(amount)
        if amount < self.minimum:
            raise InvalidInput("A payout is at least %(minimum)s.", minimum=Credits(self.minimum))
        ledger = self._ledger
        fp = fingerprint("payout", member=member_id, amount=amount)
        async with self._db.transaction() as tx:
            existing = await ledger.find_replay(tx, key, fp)
            if existing is None:
                if not await tx.fetch_one("SELECT 1 FROM streams WHERE owner_id = ?", (member_id,)):
                    raise PaymentRefused(
                        "Payouts are for streamers, from credits they earned. "
                        "Create your stream page with `/stream create` first."
                    )
                legs = await ledger.charge_legs(
                    tx,
                    member_id,
                    amount,
                    "payouts",
                    member_note=notes.PAYOUT_REQUESTED,
                    platform_note=f"Payout to {member_id}",
                )
                existing = await ledger.post(
                    tx, kind="payout", key=key, fingerprint_=fp, actor_id=member_id, legs=legs
                )
                await tx.insert(
                    "INSERT INTO payout_requests (member_id, member_name, amount, transaction_id,"
                    " requested_at) VALUES (?, ?, ?, ?, ?)",
                    (member_id, member_name, amount, existing, to_db(self._clock.now())),
                )
            row = await tx.fetch_one(
                "SELECT * FROM payout_requests WHERE transaction_id = ?", (existing,)
            )
        assert row is not None  # noqa: S101 - written with the transaction
        return _request(row)

    async def pending(self, limit: int = 25) -> list[PayoutRequest]:
        rows = await self._db.fetch_all(
            "SELECT * FROM payout_requests WHERE status = 'requested' ORDER BY id LIMIT ?", (limit,)
        )
        return [_request(row) for row in rows]

    async def of_member(self, member_id: int, limit: int = 10) -> list[PayoutRequest]:
        rows = await self._db.fetch_all(
            "SELECT * FROM payout_requests WHERE member_id = ? ORDER BY id DESC LIMIT ?",
            (member_id, limit),
        )
        return [_request(row) for row in rows]

    async def mark_paid(self, request_id: int, moderator_id: int, note: str) -> PayoutRequest:
        """The moderator sent the money: close the request (its credits already left the wallet)."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE payout_requests SET status = 'paid', decided_at = ?, decided_by = ?,"
                " note = ? WHERE id = ? AND status = 'requested'",
                (to_db(self._clock.now()), moderator_id, _note(note), request_id),
            )
        if not changed:
            await self._explain_not_open(request_id)
        return await self.get(request_id)

    async def reject(self, request_id: int, moderator_id: int, note: str) -> PayoutRequest:
        """Return the credits of a request that won't be paid."""
        ledger = self._ledger
        async with self._db.transaction() as tx:
            row = await tx.fetch_one("SELECT * FROM payout_requests WHERE id = ?", (request_id,))
            if row is None or row["status"] != "requested":
                raise Conflict("Payout request #%(id)s is not open.", id=str(request_id))
            returned = await ledger.post(
                tx,
                kind="payout_return",
                key=f"payout-return:{request_id}",
                fingerprint_=fingerprint("payout_return", request=request_id),
                actor_id=moderator_id,
                memo=_note(note),
                legs=await ledger.credit_legs(
                    tx,
                    "payouts",
                    row["member_id"],
                    row["amount"],
                    platform_note=f"Payout to {row['member_id']} rejected",
                    member_note=notes.PAYOUT_RETURNED,
                ),
            )
            await tx.execute(
                "UPDATE payout_requests SET status = 'rejected', return_transaction_id = ?,"
                " decided_at = ?, decided_by = ?, note = ? WHERE id = ?",
                (returned, to_db(self._clock.now()), moderator_id, _note(note), request_id),
            )
        return await self.get(request_id)

    async def get(self, request_id: int) -> PayoutRequest:
        row = await self._db.fetch_one("SELECT * FROM payout_requests WHERE id = ?", (request_id,))
        if row is None:
            raise NotFound("There is no payout request #%(id)s.", id=str(request_id))
        return _request(row)

    async def _explain_not_open(self, request_id: int) -> None:
        found = await self.get(request_id)
        raise Conflict(ALREADY_DECIDED[found.status], id=str(request_id))


# A request that is no longer open, by what became of it.
ALREADY_DECIDED = {
    "paid": N_("Payout request #%(id)s is already paid."),
    "rejected": N_("Payout request #%(id)s is already rejected."),
    "requested": N_("Payout request #%(id)s is not open."),
}


def _note(note: str) -> str:
    return text_rules.note(note, name=N_("A note"), max_length=NOTE_MAX)


def _request(row: Row) -> PayoutRequest:
    return PayoutRequest(
        id=row["id"],
        member_id=row["member_id"],
        member_name=row["member_name"],
        amount=row["amount"],
        status=row["status"],
        requested_at=from_db_required(row["requested_at"]),
        decided_at=from_db(row["decided_at"]),
        decided_by=row["decided_by"],
        note=row["note"],
    )

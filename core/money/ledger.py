"""The money ledger: integer credits, double entry, idempotent, never below zero.

Every movement of credits is one ledger transaction with two or more entries that sum to zero
(what leaves one account arrives in another). Member wallets are accounts keyed by Discord user
id; the platform has four accounts: ``topups`` and ``grants`` (where credits come from), ``fees``
(go-live fees and passes) and ``payouts`` (what members asked to withdraw).

Three rules hold for every call that moves money:

* **Atomic.** The balance check, the entries and the record that explains them (a tip, a fee, a
  payout request) are written in one ``BEGIN IMMEDIATE`` transaction: all of it or none of it,
  even if the process dies halfway. Tips that arrive together share one transaction (a hype
  moment is hundreds a second): each is still decided on its own, in arrival order, and a
  refused one writes nothing, so it never undoes its neighbours (``_TipBatch``).
* **Never below zero.** A member's balance is checked inside that transaction before any entry
  is written; the ``CHECK (balance >= 0)`` on the account (kept by a trigger from the entries) is
  the second line, so even a bug cannot overdraw a wallet.
* **Idempotent.** Each call carries an idempotency key (for Discord: the interaction id). The
  key is stored UNIQUE with a fingerprint of what was asked: the same key again returns the first
  result without moving money again; the same key with different parameters is a ``Conflict``.
  A refused call stores nothing, so retrying it after a top-up can succeed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from core.kernel import text as text_rules
from core.kernel.clock import Clock
from core.kernel.errors import Conflict, GoLiveError, InvalidInput, NotFound, PaymentRefused
from core.kernel.i18n import N_, Credits, Phrase
from core.kernel.timefmt import from_db_required, to_db
from core.money import notes
from core.store import Database, GroupCommit, Row, SyncTransaction, Transaction

log = logging.getLogger(__name__)

Platform = Literal["fees", "topups", "payouts", "grants"]
Kind = Literal[
    "topup",
    "grant",
    "revoke",
    "golive_fee",
    "fee_refund",
    "tip",
    "tip_refund",
    "payout",
    "payout_return",
    "pass",
]

# Far above anything real, far below SQLite's 64-bit limit: sums of amounts can never overflow.
MAX_AMOUNT = 10**12
REASON_MAX = 200
KEY_MAX = 200

KEY_REUSED = N_(
    "This request was already used for a different payment, so nothing was done. Please try again."
)


@dataclass(frozen=True)
class Leg:
    """One side of a transaction: ``amount`` credits into (positive) or out of an account."""

    account_id: int
    amount: int
    note: str = ""


# Builds a transfer's legs inside its transaction (after the replay check, before posting).
TipRecorder = Callable[[SyncTransaction, "list[tuple[Tip, Row, int]]"], None]
"""Told of a batch's new tips inside its transaction, in arrival order, once: (tx, [(the tip, its
stream's row, the donor's balance after it)])."""
LegsBuilder = Callable[[Transaction], Awaitable[list[Leg]]]


@dataclass(frozen=True)
class Posted:
    """A committed ledger transaction; ``replayed`` when the key had been used before."""

    transaction_id: int
    replayed: bool


@dataclass(frozen=True)
class PaymentResult:
    """What `pay_to_go_live` and `send_stream_donation` answer: success, or a reason why not."""

    ok: bool
    reason: str | None = None
    transaction_id: int | None = None
    record_id: int | None = None  # the tip's or the fee's id
    replayed: bool = False
    balance: int | None = None  # the payer's balance afterwards
    # The refusal itself, so a front can still say it in the payer's language.
    refusal: GoLiveError | None = None
    tip: Tip | None = None  # what a tip wrote (so nobody has to read it back)

    @classmethod
    def refused(cls, refusal: GoLiveError) -> PaymentResult:
        return cls(ok=False, reason=refusal.message, refusal=refusal)


@dataclass(frozen=True)
class WalletLine:
    """One line of a wallet's history, as the member reads it."""

    transaction_id: int
    kind: str
    amount: int
    note: str
    created_at: datetime

    @property
    def said(self) -> Phrase:
        """The note, to be said in the reader's language (core/money/notes.py)."""
        return notes.read(self.note)


@dataclass(frozen=True)
class Tip:
    id: int
    transaction_id: int
    donor_id: int
    donor_name: str
    streamer_id: int
    stream_id: int | None
    session_id: int | None
    amount: int
    message: str
    created_at: datetime
    refunded: bool


@dataclass(frozen=True)
class FeeCharge:
    id: int
    member_id: int
    amount: int
    session_id: int | None
    refunded: bool


def require_credits(amount: object) -> int:
    """A positive whole number of credits, or InvalidInput."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput("The amount must be a whole number of credits.")
    if amount <= 0:
        raise InvalidInput("The amount must be at least 1 credit.")
    if amount > MAX_AMOUNT:
        raise InvalidInput("The amount is too large.")
    return amount


def fingerprint(kind: str, **params: Any) -> str:
    """A stable hash of what a call asked for, stored with its idempotency key."""
    text = json.dumps([kind, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# Who lacks the credits, each its own sentence so every language can say it its own way.
SHORT_OF_FUNDS = {
    "You have": N_("You have %(balance)s, but this needs %(amount)s. Nothing was charged."),
    "The streamer has only": N_(
        "The streamer has only %(balance)s, but this needs %(amount)s. Nothing was charged."
    ),
    "That member has only": N_(
        "That member has only %(balance)s, but this needs %(amount)s. Nothing was charged."
    ),
}


def credits_text(amount: int) -> str:
    return f"{amount:,} credit" + ("" if abs(amount) == 1 else "s")


class Ledger:
    def __init__(self, db: Database, clock: Clock, on_tip: TipRecorder | None = None) -> None:
        """``on_tip`` runs inside the transaction of each batch of new tips (golive records
        their events there, one statement for the batch)."""
        self._db = db
        self._clock = clock
        self._on_tip = on_tip
        # Tips that arrive while a batch of them is being written are written together: one
        # transaction and one trip to the database's thread per batch (see _TipBatch).
        self._tip_writes: GroupCommit[_TipAsked, _TipWritten] = GroupCommit(
            self._write_tips, what="tips"
        )

    # -- reading -------------------------------------------------------------------------------

    async def balance(self, member_id: int) -> int:
        row = await self._db.fetch_one(
            "SELECT balance FROM ledger_accounts WHERE member_id = ?", (member_id,)
        )
        return 0 if row is None else int(row["balance"])

    async def platform_balances(self) -> dict[str, int]:
        rows = await self._db.fetch_all(
            "SELECT platform, balance FROM ledger_accounts WHERE platform IS NOT NULL"
        )
        return {row["platform"]: int(row["balance"]) for row in rows}

    async def history(self, member_id: int, limit: int = 10, offset: int = 0) -> list[WalletLine]:
        """A member's wallet lines, newest first."""
        rows = await self._db.fetch_all(
            "SELECT t.id, t.kind, e.amount, e.note, t.created_at FROM ledger_entries e"
            " JOIN ledger_accounts a ON a.id = e.account_id"
            " JOIN ledger_transactions t ON t.id = e.transaction_id"
            " WHERE a.member_id = ? ORDER BY t.id DESC LIMIT ? OFFSET ?",
            (member_id, limit, offset),
        )
        return [
            WalletLine(
                transaction_id=row["id"],
                kind=row["kind"],
                amount=int(row["amount"]),
                note=row["note"],
                created_at=from_db_required(row["created_at"]),
            )
            for row in rows
        ]

    async def history_count(self, member_id: int) -> int:
        row = await self._db.fetch_one(
            "SELECT COUNT(*) AS n FROM ledger_entries e JOIN ledger_accounts a"
            " ON a.id = e.account_id WHERE a.member_id = ?",
            (member_id,),
        )
        return 0 if row is None else int(row["n"])

    async def check_books(self) -> list[str]:
        """Everything that would be wrong with the books, in words; an empty list means sound.

        Checks that every transaction sums to zero and has at least two entries, that every
        cached balance equals the sum of its entries, and that no member balance is negative.
        """
        problems: list[str] = []
        for row in await self._db.fetch_all(
            "SELECT t.id, COALESCE(SUM(e.amount), 0) AS total, COUNT(e.id) AS legs"
            " FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id"
            " GROUP BY t.id HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2"
        ):
            problems.append(
                f"transaction {row['id']} has {row['legs']} entries summing to {row['total']}"
            )
        for row in await self._db.fetch_all(
            "SELECT a.id, a.balance, COALESCE(SUM(e.amount), 0) AS total FROM ledger_accounts a"
            " LEFT JOIN ledger_entries e ON e.account_id = a.id GROUP BY a.id"
            " HAVING a.balance <> COALESCE(SUM(e.amount), 0)"
        ):
            problems.append(
                f"account {row['id']} shows {row['balance']} but its entries sum to {row['total']}"
            )
        for row in await self._db.fetch_all(
            "SELECT id, balance FROM ledger_accounts WHERE member_id IS NOT NULL AND balance < 0"
        ):
            problems.append(f"member account {row['id']} is negative ({row['balance']})")
        return problems

    # -- the building blocks of every money-moving call ------------------------------------------

    async def member_account(self, tx: Transaction, member_id: int) -> int:
        """The wallet of a member, opened on first use."""
        await tx.execute(
            "INSERT INTO ledger_accounts (member_id, created_at) VALUES (?, ?)"
            " ON CONFLICT (member_id) DO NOTHING",
            (member_id, to_db(self._clock.now())),
        )
        row = await tx.fetch_one("SELECT id FROM ledger_accounts WHERE member_id = ?", (member_id,))
        assert row is not None  # noqa: S101 - just inserted
        return int(row["id"])

    async def platform_account(self, tx: Transaction, name: Platform) -> int:
        row = await tx.fetch_one("SELECT id FROM ledger_accounts WHERE platform = ?", (name,))
        if row is None:
            raise RuntimeError(f"platform account {name!r} is missing (migration 0004)")
        return int(row["id"])

    async def account_balance(self, tx: Transaction, account_id: int) -> int:
        row = await tx.fetch_one("SELECT balance FROM ledger_accounts WHERE id = ?", (account_id,))
        return 0 if row is None else int(row["balance"])

    async def require_funds(
        self, tx: Transaction, account_id: int, amount: int, *, whose: str = "You have"
    ) -> None:
        """Refuse, inside the writing transaction, a debit the wallet can't cover."""
        balance = await self.account_balance(tx, account_id)
        if balance < amount:
            raise PaymentRefused(
                SHORT_OF_FUNDS[whose], balance=Credits(balance), amount=Credits(amount)
            )

    async def charge_legs(
        self,
        tx: Transaction,
        member_id: int,
        amount: int,
        platform: Platform,
        *,
        member_note: str,
        platform_note: str,
        whose: str = "You have",
    ) -> list[Leg]:
        """Legs moving `amount` from a member's wallet into a platform account.

        Refuses (PaymentRefused) if the wallet can't cover it: the check runs inside `tx`.
        """
        wallet = await self.member_account(tx, member_id)
        await self.require_funds(tx, wallet, amount, whose=whose)
        return [
            Leg(wallet, -amount, member_note),
            Leg(await self.platform_account(tx, platform), amount, platform_note),
        ]

    async def credit_legs(
        self,
        tx: Transaction,
        platform: Platform,
        member_id: int,
        amount: int,
        *,
        platform_note: str,
        member_note: str,
    ) -> list[Leg]:
        """Legs moving `amount` from a platform account into a member's wallet."""
        return [
            Leg(await self.platform_account(tx, platform), -amount, platform_note),
            Leg(await self.member_account(tx, member_id), amount, member_note),
        ]

    async def find_replay(self, tx: Transaction, key: str, fingerprint_: str) -> int | None:
        """The transaction already made with `key`, if any. A key reused for something else: Conflict."""
        row = await tx.fetch_one(
            "SELECT id, fingerprint FROM ledger_transactions WHERE idempotency_key = ?", (key,)
        )
        if row is None:
            return None
        if row["fingerprint"] != fingerprint_:
            raise Conflict(KEY_REUSED)
        return int(row["id"])

    async def post(
        self,
        tx: Transaction,
        *,
        kind: Kind,
        key: str,
        fingerprint_: str,
        legs: Sequence[Leg],
        actor_id: int | None = None,
        memo: str = "",
    ) -> int:
        """Write one balanced transaction inside `tx`. Returns its id."""
        _require_key(key)
        if len(legs) < 2 or sum(leg.amount for leg in legs) != 0:
            raise ValueError(f"unbalanced ledger transaction: {legs}")
        if any(isinstance(leg.amount, bool) or not isinstance(leg.amount, int) for leg in legs):
            raise TypeError("ledger amounts are integers")
        transaction_id = await tx.insert(
            "INSERT INTO ledger_transactions (kind, idempotency_key, fingerprint, actor_id, memo,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, key, fingerprint_, actor_id, memo, to_db(self._clock.now())),
        )
        for leg in legs:
            await tx.insert(
                "INSERT INTO ledger_entries (transaction_id, account_id, amount, note)"
                " VALUES (?, ?, ?, ?)",
                (transaction_id, leg.account_id, leg.amount, leg.note),
            )
        return transaction_id

    async def transfer(
        self,
        *,
        kind: Kind,
        key: str,
        params: dict[str, Any],
        legs_for: LegsBuilder,
        actor_id: int | None = None,
        memo: str = "",
    ) -> Posted:
        """Replay-or-post in its own transaction, for movements with no record beside them."""
        fp = fingerprint(kind, **params)
        async with self._db.transaction() as tx:
            existing = await self.find_replay(tx, key, fp)
            if existing is not None:
                return Posted(existing, replayed=True)
            legs = await legs_for(tx)
            transaction_id = await self.post(
                tx, kind=kind, key=key, fingerprint_=fp, legs=legs, actor_id=actor_id, memo=memo
            )
        return Posted(transaction_id, replayed=False)

    # -- the two functions of the replaced system ------------------------------------------------

    async def pay_to_go_live(self, user_id: int, slug: str, amount: int, key: str) -> PaymentResult:
        """Charge `user_id` the fee to go live on their stream page `slug`."""
        try:
            return await self._pay_to_go_live(user_id, slug, require_credits(amount), key)
        except (PaymentRefused, NotFound, InvalidInput) as refusal:
            return PaymentResult.refused(refusal)

    async def _pay_to_go_live(
        self, user_id: int, slug: str, amount: int, key: str
    ) -> PaymentResult:
        fp = fingerprint("golive_fee", user=user_id, slug=slug.lower(), amount=amount)
        async with self._db.transaction() as tx:
            existing = await self.find_replay(tx, key, fp)
            if existing is not None:
                return await self._payment_result(
                    tx, "golive_fees", existing, user_id, replayed=True
                )
            stream = await tx.fetch_one("SELECT id, owner_id FROM streams WHERE slug = ?", (slug,))
            if stream is None or stream["owner_id"] != user_id:
                raise NotFound("You have no stream page called '%(slug)s'.", slug=slug)
            legs = await self.charge_legs(
                tx,
                user_id,
                amount,
                "fees",
                member_note=notes.GO_LIVE_FEE,
                platform_note=f"Go-live fee from {user_id}",
            )
            transaction_id = await self.post(
                tx, kind="golive_fee", key=key, fingerprint_=fp, actor_id=user_id, legs=legs
            )
            await tx.insert(
                "INSERT INTO golive_fees (transaction_id, member_id, stream_id, amount, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (transaction_id, user_id, stream["id"], amount, to_db(self._clock.now())),
            )
            return await self._payment_result(
                tx, "golive_fees", transaction_id, user_id, replayed=False
            )

    async def _payment_result(
        self,
        tx: Transaction,
        record_table: Literal["golive_fees", "tips"],
        transaction_id: int,
        payer_id: int,
        *,
        replayed: bool,
    ) -> PaymentResult:
        """A successful payment: the record it wrote (a fee or a tip) and the payer's balance."""
        row = await tx.fetch_one(
            f"SELECT id FROM {record_table} WHERE transaction_id = ?",  # noqa: S608 - fixed names
            (transaction_id,),
        )
        wallet = await self.member_account(tx, payer_id)
        return PaymentResult(
            ok=True,
            transaction_id=transaction_id,
            record_id=None if row is None else int(row["id"]),
            replayed=replayed,
            balance=await self.account_balance(tx, wallet),
        )

    async def send_stream_donation(
        self, donor_id: int, donor_name: str, stream_id: int, amount: int, message: str, key: str
    ) -> PaymentResult:
        """Move `amount` credits from the donor's wallet to the streamer's, and record the tip.

        Refuses (with a reason) a tip to yourself, to a stream page that doesn't exist, or one
        the donor can't afford. Policy (limits, message cleaning) is the caller's: see TipService.
        Written with the tips that arrive meanwhile, in one transaction (``_TipBatch``); returns
        once that transaction has committed. A key used before for something else: Conflict.
        """
        try:
            amount = require_credits(amount)
            _require_key(key)
        except InvalidInput as refusal:
            return PaymentResult.refused(refusal)
        fp = fingerprint("tip", donor=donor_id, stream=stream_id, amount=amount, message=message)
        written = await self._tip_writes.submit(
            _TipAsked(donor_id, donor_name, stream_id, amount, message, key, fp)
        )
        if written.refusal is not None:
            if isinstance(written.refusal, PaymentRefused | NotFound | InvalidInput):
                return PaymentResult.refused(written.refusal)
            raise written.refusal
        assert written.transaction_id is not None  # noqa: S101 - set whenever not refused
        return PaymentResult(
            ok=True,
            transaction_id=written.transaction_id,
            record_id=None if written.tip is None else written.tip.id,
            replayed=written.replayed,
            balance=written.balance,
            tip=written.tip,
        )

    async def flush(self) -> None:
        """Wait for tips still being written (at shutdown, before the store closes)."""
        await self._tip_writes.flush()

    async def _write_tips(self, asked: list[_TipAsked]) -> list[_TipWritten]:
        now = self._clock.now()
        on_tip = self._on_tip
        return await self._db.run_transaction(lambda tx: _TipBatch(tx, now, on_tip).write(asked))

    # -- go-live fees ------------------------------------------------------------------------------

    async def fee(self, fee_id: int) -> FeeCharge:
        row = await self._db.fetch_one("SELECT * FROM golive_fees WHERE id = ?", (fee_id,))
        if row is None:
            raise NotFound("That go-live fee does not exist.")
        return _fee(row)

    async def attach_fee_to_session(self, fee_id: int, session_id: int) -> None:
        """The fee bought this session: it is spent and will not be refunded."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE golive_fees SET session_id = ? WHERE id = ? AND refund_transaction_id IS NULL",
                (session_id, fee_id),
            )

    async def refund_fee(self, fee_id: int) -> Posted | None:
        """Give a go-live fee back (the stream could not go live). None if it bought a session."""
        key = f"fee-refund:{fee_id}"
        fp = fingerprint("fee_refund", fee=fee_id)
        async with self._db.transaction() as tx:
            existing = await self.find_replay(tx, key, fp)
            if existing is not None:
                return Posted(existing, replayed=True)
            row = await tx.fetch_one("SELECT * FROM golive_fees WHERE id = ?", (fee_id,))
            if row is None or row["session_id"] is not None:
                return None
            legs = await self.credit_legs(
                tx,
                "fees",
                row["member_id"],
                row["amount"],
                platform_note=f"Go-live fee refunded to {row['member_id']}",
                member_note=notes.GO_LIVE_FEE_REFUNDED,
            )
            transaction_id = await self.post(
                tx, kind="fee_refund", key=key, fingerprint_=fp, legs=legs
            )
            await tx.execute(
                "UPDATE golive_fees SET refund_transaction_id = ? WHERE id = ?",
                (transaction_id, fee_id),
            )
        log.info("refunded go-live fee %s", fee_id)
        return Posted(transaction_id, replayed=False)

    async def unsettled_fees(self, member_id: int, older_than: datetime) -> list[int]:
        """Fees neither spent on a session nor refunded: a go-live that died halfway."""
        rows = await self._db.fetch_all(
            "SELECT id FROM golive_fees WHERE member_id = ? AND session_id IS NULL"
            " AND refund_transaction_id IS NULL AND created_at < ?",
            (member_id, to_db(older_than)),
        )
        return [int(row["id"]) for row in rows]

    # -- tips ----------------------------------------------------------------------------------

    async def tip(self, tip_id: int) -> Tip:
        row = await self._db.fetch_one("SELECT * FROM tips WHERE id = ?", (tip_id,))
        if row is None:
            raise NotFound("There is no tip #%(id)s.", id=str(tip_id))
        return _tip(row)

    async def refund_tip(self, tip_id: int, moderator_id: int, reason: str) -> Posted:
        """Give a tip back to its donor, from the streamer's wallet. Refunding twice: Conflict."""
        reason = _require_reason(reason)
        key = f"tip-refund:{tip_id}"
        async with self._db.transaction() as tx:
            row = await tx.fetch_one("SELECT * FROM tips WHERE id = ?", (tip_id,))
            if row is None:
                raise NotFound("There is no tip #%(id)s.", id=str(tip_id))
            if row["refund_transaction_id"] is not None:
                raise Conflict("Tip #%(id)s has already been refunded.", id=str(tip_id))
            streamer = await self.member_account(tx, row["streamer_id"])
            await self.require_funds(tx, streamer, row["amount"], whose="The streamer has only")
            donor = await self.member_account(tx, row["donor_id"])
            transaction_id = await self.post(
                tx,
                kind="tip_refund",
                key=key,
                fingerprint_=fingerprint("tip_refund", tip=tip_id),
                actor_id=moderator_id,
                memo=reason,
                legs=[
                    Leg(
                        streamer,
                        -row["amount"],
                        notes.written(notes.TIP_FROM_REFUNDED, name=row["donor_name"]),
                    ),
                    Leg(donor, row["amount"], notes.written(notes.TIP_REFUNDED, id=tip_id)),
                ],
            )
            await tx.execute(
                "UPDATE tips SET refund_transaction_id = ? WHERE id = ?", (transaction_id, tip_id)
            )
        log.info("tip %s refunded by %s", tip_id, moderator_id)
        return Posted(transaction_id, replayed=False)

    # -- moderators and top-ups ----------------------------------------------------------------

    async def grant(
        self, member_id: int, amount: int, *, moderator_id: int, reason: str, key: str
    ) -> Posted:
        """Credits from the platform to a member, with the moderator and reason on record."""
        return await self._adjust_by_moderator(
            "grant", member_id, amount, moderator_id=moderator_id, reason=reason, key=key
        )

    async def revoke(
        self, member_id: int, amount: int, *, moderator_id: int, reason: str, key: str
    ) -> Posted:
        """Credits taken back from a member (never more than they hold)."""
        return await self._adjust_by_moderator(
            "revoke", member_id, amount, moderator_id=moderator_id, reason=reason, key=key
        )

    async def _adjust_by_moderator(
        self,
        kind: Literal["grant", "revoke"],
        member_id: int,
        amount: int,
        *,
        moderator_id: int,
        reason: str,
        key: str,
    ) -> Posted:
        """A grant or a revoke: both keep the moderator and the reason on the record."""
        amount = require_credits(amount)
        reason = _require_reason(reason)

        async def legs(tx: Transaction) -> list[Leg]:
            if kind == "grant":
                return await self.credit_legs(
                    tx,
                    "grants",
                    member_id,
                    amount,
                    platform_note=f"Granted to {member_id}",
                    member_note=notes.written(notes.GRANTED, reason=reason),
                )
            return await self.charge_legs(
                tx,
                member_id,
                amount,
                "grants",
                member_note=notes.written(notes.REVOKED, reason=reason),
                platform_note=f"Revoked from {member_id}",
                whose="That member has only",
            )

        return await self.transfer(
            kind=kind,
            key=key,
            params={"member": member_id, "amount": amount, "reason": reason},
            legs_for=legs,
            actor_id=moderator_id,
            memo=reason,
        )

    async def credit_topup(self, member_id: int, credits: int, *, key: str, memo: str) -> Posted:
        """Credits a member bought (Stripe): from the `topups` account into their wallet."""
        credits = require_credits(credits)
        return await self.transfer(
            kind="topup",
            key=key,
            params={"member": member_id, "credits": credits},
            legs_for=lambda tx: self.credit_legs(
                tx,
                "topups",
                member_id,
                credits,
                platform_note=f"Top-up by {member_id}",
                member_note=notes.TOP_UP,
            ),
            memo=memo,
        )

    async def audit_trail(self, member_id: int, limit: int = 10) -> list[tuple[WalletLine, int]]:
        """Moderator grants and revokes for a member: (line, moderator id), newest first."""
        rows = await self._db.fetch_all(
            "SELECT t.id, t.kind, e.amount, e.note, t.created_at, t.actor_id FROM ledger_entries e"
            " JOIN ledger_accounts a ON a.id = e.account_id"
            " JOIN ledger_transactions t ON t.id = e.transaction_id"
            " WHERE a.member_id = ? AND t.kind IN ('grant', 'revoke', 'tip_refund')"
            " ORDER BY t.id DESC LIMIT ?",
            (member_id, limit),
        )
        return [
            (
                WalletLine(
                    row["id"],
                    row["kind"],
                    int(row["amount"]),
                    row["note"],
                    from_db_required(row["created_at"]),
                ),
                int(row["actor_id"]),
            )
            for row in rows
        ]


@dataclass(frozen=True)
class _TipAsked:
    """One tip waiting to be written with the others that arrived with it."""

    donor_id: int
    donor_name: str
    stream_id: int
    amount: int
    message: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class _TipWritten:
    """What one tip of a batch came to: a tip made or replayed, or why it was refused."""

    transaction_id: int | None = None
    tip: Tip | None = None
    balance: int = 0  # the donor's, afterwards
    replayed: bool = False
    refusal: GoLiveError | None = None


@dataclass
class _Wallet:
    account_id: int | None  # None: opened by this batch (a streamer's first tip), until written
    balance: int


@dataclass
class _NewTip:
    """A tip of the batch that lands: decided in memory, written with the others after."""

    asked: _TipAsked
    stream: Row
    donor: _Wallet
    streamer: _Wallet
    donor_balance: int  # after it
    transaction_id: int = 0  # both set once its rows are written
    made: Tip | None = None


@dataclass(frozen=True)
class _Landing:
    """An answer waiting for its tip's rows: the new tip itself, or the same request again."""

    tip: _NewTip
    replayed: bool
    balance: int  # the donor's, as this request was decided


_IN_CHUNK = 500  # values per IN (...) list, far under either backend's parameter limit
# Tips per multi-row INSERT: 9 parameters a row at most (4,500), as far under those limits.
_ROWS_PER_INSERT = 500
_KNOWN_KEYS = (
    # A used key, and the tip it made if it made one (its replay answers with it).
    "SELECT t.id AS transaction_id, t.idempotency_key, t.fingerprint, p.id, p.donor_id,"
    " p.donor_name, p.streamer_id, p.stream_id, p.session_id, p.amount, p.message, p.created_at,"
    " p.refund_transaction_id FROM ledger_transactions t"
    " LEFT JOIN tips p ON p.transaction_id = t.id WHERE t.idempotency_key IN ({})"
)
_STREAMS = (
    "SELECT s.*, o.id AS session_id FROM streams s"
    " LEFT JOIN stream_sessions o ON o.stream_id = s.id AND o.ended_at IS NULL WHERE s.id IN ({})"
)
_WALLETS = "SELECT id, member_id, balance FROM ledger_accounts WHERE member_id IN ({}) ORDER BY id"
_OPEN_WALLETS = (
    "INSERT INTO ledger_accounts (member_id, created_at) VALUES {} RETURNING id, member_id"
)
_TRANSACTIONS = (
    "INSERT INTO ledger_transactions (kind, idempotency_key, fingerprint, actor_id, memo,"
    " created_at) VALUES {} RETURNING id, idempotency_key"
)
_ENTRIES = "INSERT INTO ledger_entries (transaction_id, account_id, amount, note) VALUES {}"
_TIPS = (
    "INSERT INTO tips (transaction_id, donor_id, donor_name, streamer_id, stream_id, session_id,"
    " amount, message, created_at) VALUES {} RETURNING id, transaction_id"
)


class _TipBatch:
    """The tips of one group commit, written in one transaction on the database's thread.

    Each tip is decided as if it came alone, in arrival order: its replay check, its stream and
    its donor's balance are as this transaction has them after the tips before it (a key seen
    earlier in the batch is a replay of that tip), and a refused tip writes nothing, so it can't
    affect its neighbours. What the batch needs (keys already used and their tips, streams,
    wallets) is read once up front; every tip is then decided in memory, following balances as
    its entries will move them: nobody else can write those wallets until this transaction ends
    (every store has one writer at a time: SQLite's write lock, PostgreSQL's write advisory lock).

    Then the tips that land are written together, a few statements for the whole batch whatever
    its size (on PostgreSQL each statement is a round trip): the streamers' first wallets, the
    ledger transactions, their entries and the tip records, one multi-row INSERT each (per 500
    tips). Neither store promises the order of ``RETURNING`` rows, so ids are matched back by a
    unique column (a key, a member, a transaction), never by position. The entries go in arrival
    order, each tip's debit before its credit, so the database checks every balance the decisions
    followed (SQLite's balance trigger runs per entry under the account's CHECK; PostgreSQL's
    once per statement, checking the balance after each entry in their order, migration 0016):
    were the decisions wrong, the INSERT would fail and the batch roll back (and be retried tip
    by tip).

    Only plain ``execute``/``fetch_all`` with portable SQL (``INSERT ... VALUES (...), (...)
    RETURNING`` is both SQLite's and PostgreSQL's), so the same work runs on either backend.
    """

    def __init__(self, tx: SyncTransaction, now: datetime, on_tip: TipRecorder | None) -> None:
        self._tx = tx
        self._on_tip = on_tip
        self._now = to_db(now)
        self._created_at = from_db_required(self._now)  # as a tip read back would have it
        self._used: dict[str, tuple[int, str, Tip | None]] = {}  # key: (transaction, fp, tip)
        self._landing: dict[str, _NewTip] = {}  # by key: the new tips, in arrival order
        self._streams: dict[int, Row] = {}
        self._wallets: dict[int, _Wallet] = {}  # by member id

    def write(self, asked: list[_TipAsked]) -> list[_TipWritten]:
        self._read_what_the_batch_needs(asked)
        answers = [self._decide(tip) for tip in asked]
        new = list(self._landing.values())
        if new:
            self._open_wallets()
            made: list[tuple[Tip, Row, int]] = []
            for start in range(0, len(new), _ROWS_PER_INSERT):
                made += self._write_tips(new[start : start + _ROWS_PER_INSERT])
            if self._on_tip is not None:
                self._on_tip(self._tx, made)
        return [_answered(answer) for answer in answers]

    # -- reading -------------------------------------------------------------------------------

    def _read_what_the_batch_needs(self, asked: list[_TipAsked]) -> None:
        for row in self._rows_in(_KNOWN_KEYS, {tip.key for tip in asked}):
            made = None if row["id"] is None else _tip(row)
            self._used[row["idempotency_key"]] = (
                int(row["transaction_id"]),
                row["fingerprint"],
                made,
            )
        for row in self._rows_in(_STREAMS, {tip.stream_id for tip in asked}):
            self._streams[int(row["id"])] = row
        members = {tip.donor_id for tip in asked}
        members.update(int(row["owner_id"]) for row in self._streams.values())
        for row in self._rows_in(_WALLETS, members):
            self._wallets[int(row["member_id"])] = _Wallet(int(row["id"]), int(row["balance"]))

    def _rows_in(self, sql: str, values: Iterable[object]) -> list[Row]:
        """The rows of ``sql`` whose ``IN ({})`` is each of ``values``, a chunk at a time."""
        ordered = sorted(values, key=str)
        rows: list[Row] = []
        for start in range(0, len(ordered), _IN_CHUNK):
            chunk = ordered[start : start + _IN_CHUNK]
            rows += self._tx.fetch_all(sql.format(", ".join("?" * len(chunk))), chunk)
        return rows

    # -- deciding, in arrival order --------------------------------------------------------------

    def _decide(self, tip: _TipAsked) -> _TipWritten | _Landing:
        used = self._used.get(tip.key)
        if used is not None:
            transaction_id, fingerprint_, made = used
            if fingerprint_ != tip.fingerprint:
                return _TipWritten(refusal=Conflict(KEY_REUSED))
            balance = self._balance_of(tip.donor_id)
            return _TipWritten(
                transaction_id=transaction_id, tip=made, balance=balance, replayed=True
            )
        landing = self._landing.get(tip.key)
        if landing is not None:  # the same key earlier in this batch
            if landing.asked.fingerprint != tip.fingerprint:
                return _TipWritten(refusal=Conflict(KEY_REUSED))
            return _Landing(landing, replayed=True, balance=self._balance_of(tip.donor_id))
        stream = self._streams.get(tip.stream_id)
        if stream is None:
            refusal: GoLiveError = NotFound(
                "That stream page doesn't exist, so there is nobody to tip."
            )
            return _TipWritten(refusal=refusal)
        if stream["owner_id"] == tip.donor_id:
            return _TipWritten(refusal=PaymentRefused("You can't tip yourself."))
        balance = self._balance_of(tip.donor_id)
        if balance < tip.amount:
            refusal = PaymentRefused(
                SHORT_OF_FUNDS["You have"], balance=Credits(balance), amount=Credits(tip.amount)
            )
            return _TipWritten(refusal=refusal)
        return self._land(tip, stream)

    def _land(self, tip: _TipAsked, stream: Row) -> _Landing:
        """The tip will be written; the donor can afford it."""
        donor = self._wallets[tip.donor_id]
        streamer = self._wallet(int(stream["owner_id"]))
        donor.balance -= tip.amount
        streamer.balance += tip.amount
        new = _NewTip(tip, stream, donor, streamer, donor_balance=donor.balance)
        self._landing[tip.key] = new
        return _Landing(new, replayed=False, balance=donor.balance)

    def _wallet(self, member_id: int) -> _Wallet:
        """A member's wallet; one not opened yet is opened with the batch (a streamer's first
        tip), and only if a tip to it lands."""
        wallet = self._wallets.get(member_id)
        if wallet is None:
            wallet = self._wallets[member_id] = _Wallet(None, 0)
        return wallet

    def _balance_of(self, member_id: int) -> int:
        wallet = self._wallets.get(member_id)
        return 0 if wallet is None else wallet.balance

    # -- writing what landed -------------------------------------------------------------------

    def _open_wallets(self) -> None:
        opening = [member for member, wallet in self._wallets.items() if wallet.account_id is None]
        for start in range(0, len(opening), _ROWS_PER_INSERT):
            chunk = opening[start : start + _ROWS_PER_INSERT]
            rows = self._inserted(
                _OPEN_WALLETS, "(?, ?)", [(member, self._now) for member in chunk]
            )
            for row in rows:
                self._wallets[int(row["member_id"])].account_id = int(row["id"])

    def _write_tips(self, new: list[_NewTip]) -> list[tuple[Tip, Row, int]]:
        """The ledger transactions of ``new``, their entries and their tip records; what
        ``on_tip`` is told of them."""
        rows = self._inserted(
            _TRANSACTIONS,
            "('tip', ?, ?, ?, '', ?)",
            [(tip.asked.key, tip.asked.fingerprint, tip.asked.donor_id, self._now) for tip in new],
        )
        ids = {row["idempotency_key"]: int(row["id"]) for row in rows}
        for tip in new:
            tip.transaction_id = ids[tip.asked.key]
        self._tx.execute(*_values(_ENTRIES, "(?, ?, ?, ?), (?, ?, ?, ?)", map(_entries, new)))
        rows = self._inserted(_TIPS, "(?, ?, ?, ?, ?, ?, ?, ?, ?)", map(self._tip_record, new))
        tip_ids = {int(row["transaction_id"]): int(row["id"]) for row in rows}
        for tip in new:
            tip.made = self._made(tip, tip_ids[tip.transaction_id])
        return [(tip.made, tip.stream, tip.donor_balance) for tip in new if tip.made is not None]

    def _inserted(self, sql: str, row: str, rows: Iterable[Sequence[object]]) -> list[Row]:
        # fetch_all: every RETURNING row, and the INSERT runs to its end before the next statement.
        return self._tx.fetch_all(*_values(sql, row, rows))

    def _tip_record(self, tip: _NewTip) -> tuple[object, ...]:
        stream = tip.stream
        asked = tip.asked
        return (
            *(tip.transaction_id, asked.donor_id, asked.donor_name, stream["owner_id"]),
            *(stream["id"], stream["session_id"], asked.amount, asked.message, self._now),
        )

    def _made(self, tip: _NewTip, tip_id: int) -> Tip:
        return Tip(
            id=tip_id,
            transaction_id=tip.transaction_id,
            donor_id=tip.asked.donor_id,
            donor_name=tip.asked.donor_name,
            streamer_id=int(tip.stream["owner_id"]),
            stream_id=int(tip.stream["id"]),
            session_id=tip.stream["session_id"],
            amount=tip.asked.amount,
            message=tip.asked.message,
            created_at=self._created_at,
            refunded=False,
        )


def _entries(tip: _NewTip) -> tuple[object, ...]:
    """A tip's two entries, the donor's debit first (the trigger applies them in this order)."""
    return (
        *(tip.transaction_id, tip.donor.account_id, -tip.asked.amount),
        notes.written(notes.TIP_TO, name=tip.stream["owner_name"]),
        *(tip.transaction_id, tip.streamer.account_id, tip.asked.amount),
        notes.written(notes.TIP_FROM, name=tip.asked.donor_name),
    )


def _values(sql: str, row: str, rows: Iterable[Sequence[object]]) -> tuple[str, list[object]]:
    """``sql`` with its ``VALUES {}`` as one ``row`` per item of ``rows``, and their parameters."""
    params: list[object] = []
    count = 0
    for values in rows:
        params += values
        count += 1
    return sql.format(", ".join([row] * count)), params


def _answered(answer: _TipWritten | _Landing) -> _TipWritten:
    if isinstance(answer, _TipWritten):
        return answer
    return _TipWritten(
        transaction_id=answer.tip.transaction_id,
        tip=answer.tip.made,
        balance=answer.balance,
        replayed=answer.replayed,
    )


def _require_key(key: str) -> None:
    if not key or len(key) > KEY_MAX:
        raise InvalidInput("A payment needs a request id of 1 to 200 characters.")


def _require_reason(reason: str) -> str:
    return text_rules.note(
        reason,
        name=N_("The reason"),
        max_length=REASON_MAX,
        required=N_("Give a reason: it is kept with the change, for the record."),
    )


def _tip(row: Row) -> Tip:
    return Tip(
        id=row["id"],
        transaction_id=row["transaction_id"],
        donor_id=row["donor_id"],
        donor_name=row["donor_name"],
        streamer_id=row["streamer_id"],
        stream_id=row["stream_id"],
        session_id=row["session_id"],
        amount=row["amount"],
        message=row["message"],
        created_at=from_db_required(row["created_at"]),
        refunded=row["refund_transaction_id"] is not None,
    )


def _fee(row: Row) -> FeeCharge:
    return FeeCharge(
        id=row["id"],
        member_id=row["member_id"],
        amount=row["amount"],
        session_id=row["session_id"],
        refunded=row["refund_transaction_id"] is not None,
    )

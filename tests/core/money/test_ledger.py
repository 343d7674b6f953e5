"""The ledger as the money's owner sees it: balances, idempotency, refusals, refunds, audit."""

from __future__ import annotations

import pytest

from core.accounts.auth import Identity
from core.kernel.errors import Conflict, InvalidInput, NotFound, PaymentRefused
from core.services import Services
from core.store import IntegrityError
from core.streams import Stream, StreamDraft
from tests.conftest import ALICE, BOB

CAROL = Identity(user_id=1003, username="carol", display_name="Carol")
MOD = 9000


async def page(services: Services, who: Identity) -> Stream:
    return await services.streams.create(
        owner_id=who.user_id,
        username=who.username,
        display_name=who.display_name,
        draft=StreamDraft(title=f"{who.display_name} paints"),
    )


async def fund(services: Services, who: Identity, amount: int) -> None:
    await services.ledger.grant(
        who.user_id,
        amount,
        moderator_id=MOD,
        reason="test funds",
        key=f"fund:{who.user_id}:{amount}",
    )


async def test_a_tip_moves_credits_from_donor_to_streamer(services: Services) -> None:
    stream = await page(services, ALICE)
    await fund(services, BOB, 100)
    result = await services.ledger.send_stream_donation(
        BOB.user_id, "Bob", stream.id, 30, "lovely", "k1"
    )
    assert result.ok and result.balance == 70 and not result.replayed
    assert await services.ledger.balance(BOB.user_id) == 70
    assert await services.ledger.balance(ALICE.user_id) == 30
    [line, *_] = await services.ledger.history(ALICE.user_id)
    assert (line.kind, line.amount, line.note) == ("tip", 30, "Tip from Bob")
    assert await services.ledger.check_books() == []


async def test_same_key_twice_makes_one_transaction(services: Services) -> None:
    stream = await page(services, ALICE)
    await fund(services, BOB, 100)
    first = await services.ledger.send_stream_donation(BOB.user_id, "Bob", stream.id, 30, "", "k")
    again = await services.ledger.send_stream_donation(BOB.user_id, "Bob", stream.id, 30, "", "k")
    assert again.ok and again.replayed
    assert again.transaction_id == first.transaction_id and again.record_id == first.record_id
    assert await services.ledger.balance(BOB.user_id) == 70
    rows = await services.db.fetch_all("SELECT id FROM ledger_transactions WHERE kind = 'tip'")
    assert len(rows) == 1


async def test_same_key_for_a_different_payment_is_a_conflict(services: Services) -> None:
    stream = await page(services, ALICE)
    await fund(services, BOB, 100)
    await services.ledger.send_stream_donation(BOB.user_id, "Bob", stream.id, 30, "", "k")
    with pytest.raises(Conflict, match="already used for a different payment"):
        await services.ledger.send_stream_donation(BOB.user_id, "Bob", stream.id, 31, "", "k")
    assert await services.ledger.balance(BOB.user_id) == 70


async def test_refusals_come_back_as_reasons_and_move_nothing(services: Services) -> None:
    stream = await page(services, ALICE)
    await fund(services, BOB, 10)
    poor = await services.ledger.send_stream_donation(BOB.user_id, "Bob", stream.id, 11, "", "a")
    assert not poor.ok and poor.reason == (
        "You have 10 credits, but this needs 11 credits. Nothing was charged."
    )
    self_tip = await services.ledger.send_stream_donation(
        ALICE.user_id, "Alice", stream.id, 1, "", "b"
    )
    assert not self_tip.ok and self_tip.reason == "You can't tip yourself."
    nowhere = await services.ledger.send_stream_donation(BOB.user_id, "Bob", 999, 1, "", "c")
    assert not nowhere.ok and "doesn't exist" in (nowhere.reason or "")
    zero = await services.ledger.send_stream_donation(BOB.user_id, "Bob", stream.id, 0, "", "d")
    assert not zero.ok and "at least 1 credit" in (zero.reason or "")
    assert await services.ledger.balance(BOB.user_id) == 10
    # A refused attempt stores nothing: the same key works once the money is there.
    await fund(services, BOB, 5)
    retried = await services.ledger.send_stream_donation(BOB.user_id, "Bob", stream.id, 11, "", "a")
    assert retried.ok and not retried.replayed


async def test_pay_to_go_live_charges_the_owner_once_per_key(services: Services) -> None:
    stream = await page(services, ALICE)
    await fund(services, ALICE, 100)
    paid = await services.ledger.pay_to_go_live(ALICE.user_id, stream.slug, 40, "g1")
    again = await services.ledger.pay_to_go_live(ALICE.user_id, stream.slug, 40, "g1")
    assert paid.ok and again.replayed and again.record_id == paid.record_id
    assert await services.ledger.balance(ALICE.user_id) == 60
    assert (await services.ledger.platform_balances())["fees"] == 40
    not_mine = await services.ledger.pay_to_go_live(BOB.user_id, stream.slug, 40, "g2")
    assert not not_mine.ok and "no stream page called 'alice'" in (not_mine.reason or "")


async def test_a_refunded_fee_comes_back_once(services: Services) -> None:
    stream = await page(services, ALICE)
    await fund(services, ALICE, 100)
    paid = await services.ledger.pay_to_go_live(ALICE.user_id, stream.slug, 40, "g1")
    assert paid.record_id is not None
    await services.ledger.refund_fee(paid.record_id)
    second = await services.ledger.refund_fee(paid.record_id)
    assert second is not None and second.replayed
    assert await services.ledger.balance(ALICE.user_id) == 100
    assert (await services.ledger.fee(paid.record_id)).refunded


async def test_moderators_refund_a_tip_once_and_only_if_the_streamer_still_has_it(
    services: Services,
) -> None:
    stream = await page(services, ALICE)
    await fund(services, BOB, 100)
    tip = await services.ledger.send_stream_donation(BOB.user_id, "Bob", stream.id, 60, "", "t")
    assert tip.record_id is not None
    await services.ledger.refund_tip(tip.record_id, MOD, "spam")
    assert await services.ledger.balance(BOB.user_id) == 100
    assert await services.ledger.balance(ALICE.user_id) == 0
    with pytest.raises(Conflict, match="already been refunded"):
        await services.ledger.refund_tip(tip.record_id, MOD, "again")

    spent = await services.ledger.send_stream_donation(BOB.user_id, "Bob", stream.id, 50, "", "u")
    assert spent.record_id is not None
    await services.ledger.revoke(ALICE.user_id, 20, moderator_id=MOD, reason="fraud", key="r")
    with pytest.raises(PaymentRefused, match="The streamer has only 30 credits"):
        await services.ledger.refund_tip(spent.record_id, MOD, "late")
    with pytest.raises(NotFound):
        await services.ledger.refund_tip(12345, MOD, "nothing")
    assert await services.ledger.check_books() == []


async def test_grants_and_revokes_are_audited_and_revoke_never_overdraws(
    services: Services,
) -> None:
    await services.ledger.grant(CAROL.user_id, 50, moderator_id=MOD, reason="contest win", key="a")
    with pytest.raises(PaymentRefused, match="That member has only 50 credits"):
        await services.ledger.revoke(CAROL.user_id, 51, moderator_id=MOD, reason="x", key="b")
    with pytest.raises(InvalidInput, match="Give a reason"):
        await services.ledger.grant(CAROL.user_id, 5, moderator_id=MOD, reason="  ", key="c")
    [(line, moderator)] = await services.ledger.audit_trail(CAROL.user_id)
    assert (line.kind, line.amount, line.note, moderator) == (
        "grant",
        50,
        "Granted: contest win",
        MOD,
    )
    assert (await services.ledger.platform_balances())["grants"] == -50


async def test_the_database_itself_refuses_an_overdraft_and_edits(services: Services) -> None:
    """Second line of defence: even SQL that skips the service can't overdraw or rewrite."""
    await fund(services, BOB, 5)
    async with services.db.transaction() as tx:
        wallet = await services.ledger.member_account(tx, BOB.user_id)
    async with services.db.transaction() as tx:
        txn = await tx.insert(
            "INSERT INTO ledger_transactions (kind, idempotency_key, fingerprint, created_at)"
            " VALUES ('tip', 'raw', 'x', '2026-01-01T00:00:00+00:00')"
        )
    with pytest.raises(IntegrityError, match=r"(?i)check"):
        await overdraw(services, txn, wallet)
    with pytest.raises(IntegrityError, match="append-only"):
        async with services.db.transaction() as tx:
            await tx.execute("UPDATE ledger_entries SET amount = 1000")
    with pytest.raises(IntegrityError, match="append-only"):
        async with services.db.transaction() as tx:
            await tx.execute("DELETE FROM ledger_transactions")
    assert await services.ledger.balance(BOB.user_id) == 5
    # The raw transaction row without entries is exactly what the books check reports.
    assert await services.ledger.check_books() == [f"transaction {txn} has 0 entries summing to 0"]


async def test_entries_written_together_are_checked_one_by_one_in_their_order(
    services: Services,
) -> None:
    """A burst's entries are one INSERT (``_TipBatch``): the balance trigger still checks every
    balance a wallet passes through, in the entries' order, not only where it ends."""
    await fund(services, BOB, 5)
    async with services.db.transaction() as tx:
        wallet = await services.ledger.member_account(tx, BOB.user_id)
        grants = await services.ledger.platform_account(tx, "grants")
        txn = await tx.insert(
            "INSERT INTO ledger_transactions (kind, idempotency_key, fingerprint, created_at)"
            " VALUES ('grant', 'raw', 'x', '2026-01-01T00:00:00+00:00')"
        )
    spend_then_receive = [(wallet, -6), (wallet, 10), (grants, -4)]  # 5 - 6 < 0, ends at 9
    with pytest.raises(IntegrityError, match=r"(?i)check"):
        await enter(services, txn, spend_then_receive)
    assert await services.ledger.balance(BOB.user_id) == 5
    await enter(services, txn, [(wallet, 10), (wallet, -6), (grants, -4)])  # 15, then 9
    assert await services.ledger.balance(BOB.user_id) == 9
    assert await services.ledger.check_books() == []


async def enter(services: Services, transaction_id: int, legs: list[tuple[int, int]]) -> None:
    """``legs`` (account, amount) as the entries of one multi-row INSERT, in this order."""
    async with services.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO ledger_entries (transaction_id, account_id, amount) VALUES "  # noqa: S608 - placeholders only
            + ", ".join(["(?, ?, ?)"] * len(legs)),
            [value for account, amount in legs for value in (transaction_id, account, amount)],
        )


async def overdraw(services: Services, transaction_id: int, wallet: int) -> None:
    async with services.db.transaction() as tx:
        await tx.insert(
            "INSERT INTO ledger_entries (transaction_id, account_id, amount) VALUES (?, ?, ?)",
            (transaction_id, wallet, -6),
        )

"""Property: whatever happens, the books balance and no wallet goes below zero."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.kernel.clock import ManualClock
from core.kernel.errors import GoLiveError
from core.money.ledger import Ledger
from core.money.payouts import PayoutService
from core.store import Database
from core.streams import StreamDraft, StreamService

MEMBERS = (1, 2, 3)  # each has a stream page

member = st.sampled_from(MEMBERS)
amount = st.integers(min_value=1, max_value=400)
operation = st.one_of(
    st.tuples(st.just("topup"), member, amount),
    st.tuples(st.just("grant"), member, amount),
    st.tuples(st.just("revoke"), member, amount),
    st.tuples(st.just("tip"), member, member, amount),
    st.tuples(st.just("fee"), member, amount),
    st.tuples(st.just("refund_fee"), st.integers(1, 20)),
    st.tuples(st.just("refund_tip"), st.integers(1, 20)),
    st.tuples(st.just("payout"), member, amount),
    st.tuples(st.just("reject_payout"), st.integers(1, 20)),
    st.tuples(st.just("replay"), st.integers(0, 50)),
)


async def run(operations: list[tuple[Any, ...]]) -> None:
    clock = ManualClock()
    async with Database.open(":memory:") as db:
        ledger = Ledger(db, clock)
        payouts = PayoutService(db, ledger, clock, minimum=1)
        streams = StreamService(db, livekit=None, clock=clock)  # type: ignore[arg-type]
        ids = {}
        for m in MEMBERS:
            stream = await streams.create(
                owner_id=m, username=f"m{m}", display_name=f"M{m}", draft=StreamDraft(title="t")
            )
            ids[m] = stream
        model = dict.fromkeys(MEMBERS, 0)
        for n, op in enumerate(operations):
            key = f"k{n}"
            if op[0] == "replay":  # an earlier key again: must never move money twice
                key = f"k{op[1]}"
                op = operations[op[1]] if op[1] < n else ("topup", 1, 1)
                if op[0] == "replay":
                    continue
            before = dict(model)
            try:
                await apply(op, key, ledger, payouts, ids, model)
            except GoLiveError:
                model.clear()
                model.update(before)
            clock.advance(1)
        assert await ledger.check_books() == []
        for m in MEMBERS:
            assert await ledger.balance(m) == model[m] >= 0
        total = await db.fetch_one("SELECT COALESCE(SUM(amount), 0) AS s FROM ledger_entries")
        balances = await db.fetch_one("SELECT SUM(balance) AS s FROM ledger_accounts")
        assert total is not None and total["s"] == 0
        assert balances is not None and balances["s"] == 0
        for row in await db.fetch_all(
            "SELECT a.balance, (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries e"
            " WHERE e.account_id = a.id) AS entries FROM ledger_accounts a"
        ):
            assert row["balance"] == row["entries"]


async def apply(op, key, ledger, payouts, streams, model) -> None:
    kind = op[0]
    posted_before = await _count(ledger)
    if kind == "topup":
        _, m, a = op
        if (await ledger.credit_topup(m, a, key=key, memo="")).replayed:
            return
        model[m] += a
    elif kind == "grant":
        _, m, a = op
        if not (await ledger.grant(m, a, moderator_id=9, reason="r", key=key)).replayed:
            model[m] += a
    elif kind == "revoke":
        _, m, a = op
        if not (await ledger.revoke(m, a, moderator_id=9, reason="r", key=key)).replayed:
            model[m] -= a
    elif kind == "tip":
        _, donor, to, a = op
        result = await ledger.send_stream_donation(donor, "d", streams[to].id, a, "", key)
        if result.ok and not result.replayed:
            model[donor] -= a
            model[to] += a
    elif kind == "fee":
        _, m, a = op
        result = await ledger.pay_to_go_live(m, streams[m].slug, a, key)
        if result.ok and not result.replayed:
            model[m] -= a
    elif kind == "refund_fee":
        row = await ledger._db.fetch_one("SELECT * FROM golive_fees WHERE id = ?", (op[1],))
        posted = await ledger.refund_fee(op[1])
        if posted is not None and not posted.replayed:
            model[row["member_id"]] += row["amount"]
    elif kind == "refund_tip":
        tip = await ledger.tip(op[1])
        await ledger.refund_tip(op[1], 9, "r")
        model[tip.streamer_id] -= tip.amount
        model[tip.donor_id] += tip.amount
    elif kind == "payout":
        _, m, a = op
        await payouts.request(m, "m", a, key)
        if await _count(ledger) > posted_before:
            model[m] -= a
    elif kind == "reject_payout":
        request = await payouts.get(op[1])
        await payouts.reject(op[1], 9, "no")
        model[request.member_id] += request.amount


async def _count(ledger: Ledger) -> int:
    row = await ledger._db.fetch_one("SELECT COUNT(*) AS n FROM ledger_transactions")
    return int(row["n"]) if row else 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=40))
def test_books_balance_and_no_wallet_goes_negative(operations: list[tuple[Any, ...]]) -> None:
    asyncio.run(run(operations))

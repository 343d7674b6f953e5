"""Tips in bursts: what arrives together is written in one transaction, each tip on its own.

A hype moment is many tips at once. They share a transaction (group commit), but each is decided
as if it came alone, in arrival order: a donor who can't pay is refused without undoing anyone
else's tip, a balance raised by an earlier tip of the same batch can be spent by a later one, a
request sent twice lands once, and only the tips that landed are announced, after the commit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

import core.money.ledger
from core.accounts.auth import Identity
from core.kernel.errors import Conflict, PaymentRefused
from core.kernel.events import inline
from core.money.tips import TipEvent, TipOutcome
from core.services import Services
from core.store import observe_batches
from tests.conftest import ALICE, BOB
from tests.core.money.test_ledger import CAROL, fund, page

DAVE = Identity(user_id=1004, username="dave", display_name="Dave")  # never had credits


@pytest.fixture
def tip_batches() -> Iterator[list[int]]:
    """The size of every batch of tips written while the test runs."""
    sizes: list[int] = []
    undo = observe_batches(lambda what, size: sizes.append(size) if what == "tips" else None)
    yield sizes
    undo()


def heard_tips(services: Services) -> list[TipEvent]:
    heard: list[TipEvent] = []

    async def listener(event: TipEvent) -> None:
        heard.append(event)

    services.events.wire("test", [inline(TipEvent, listener)])
    return heard


def answer(outcome: TipOutcome | BaseException) -> str:
    if isinstance(outcome, PaymentRefused):  # a Conflict too, so first
        return "refused"
    if isinstance(outcome, Conflict):
        return "conflict"
    if isinstance(outcome, BaseException):
        raise outcome
    return "replayed" if outcome.replayed else "landed"


async def test_a_burst_lands_what_each_donor_can_pay_in_arrival_order(
    services: Services, tip_batches: list[int]
) -> None:
    alice, carol = await page(services, ALICE), await page(services, CAROL)
    await fund(services, BOB, 100)
    await fund(services, CAROL, 25)
    heard = heard_tips(services)
    burst = [  # (donor, stream, amount), in the order they arrive
        (BOB, alice, 30),
        (ALICE, carol, 20),  # Alice had nothing until Bob's tip just before
        (DAVE, alice, 10),  # no wallet at all
        (BOB, alice, 30),
        (CAROL, alice, 40),  # 25 of her own, 20 from Alice's tip
        (CAROL, alice, 10),  # 5 left
        (ALICE, alice, 10),  # herself
        (BOB, alice, 30),
        (BOB, alice, 30),  # 10 left
        (ALICE, carol, 100),
    ]
    outcomes = await asyncio.gather(
        *(
            services.tips.tip_stream(donor, stream.id, amount, f"#{n}", f"burst-{n}")
            for n, (donor, stream, amount) in enumerate(burst)
        ),
        return_exceptions=True,
    )
    await services.events.drain()

    assert tip_batches == [len(burst)]  # one transaction for all of them
    assert [answer(outcome) for outcome in outcomes] == [
        "landed", "landed", "refused", "landed", "landed",
        "refused", "refused", "landed", "refused", "landed",
    ]  # fmt: skip
    balances = [await services.ledger.balance(who.user_id) for who in (BOB, ALICE, CAROL, DAVE)]
    assert balances == [10, 10, 105, 0]
    landed = [outcome for outcome in outcomes if isinstance(outcome, TipOutcome)]
    assert [outcome.donor_balance for outcome in landed] == [70, 10, 40, 5, 10, 10]
    # Each new tip is announced once, with what was committed; in order in the outbox (what the
    # room and the streamer's DM follow), whatever order the callers resumed in afterwards.
    heard.sort(key=lambda event: event.tip.id)
    assert [event.tip.id for event in heard] == [outcome.tip.id for outcome in landed]
    recorded = await services.db.fetch_all(
        "SELECT payload FROM outbox_events WHERE type = 'TipEvent' ORDER BY id"
    )
    assert [json.loads(row["payload"])["tip"]["id"] for row in recorded] == [
        outcome.tip.id for outcome in landed
    ]
    assert [(event.tip.message, event.donor_balance) for event in heard] == [
        ("#0", 70), ("#1", 10), ("#3", 40), ("#4", 5), ("#7", 10), ("#9", 10),
    ]  # fmt: skip
    assert [await services.ledger.tip(outcome.tip.id) for outcome in landed] == [
        outcome.tip for outcome in landed
    ]
    refused = outcomes[2]
    assert isinstance(refused, PaymentRefused) and "You have 0 credits" in refused.message
    assert len(await services.db.fetch_all("SELECT id FROM tips")) == 6
    assert await services.ledger.check_books() == []


async def test_a_request_sent_twice_in_one_batch_lands_once_and_a_misused_key_fails_alone(
    services: Services, tip_batches: list[int]
) -> None:
    stream = await page(services, ALICE)
    await fund(services, BOB, 100)
    heard = heard_tips(services)
    burst = [  # (amount, key)
        (30, "k1"),
        (30, "k1"),  # the same request again: its first answer
        (50, "k1"),  # the same key for another tip: refused as a misuse, nothing moves
        (90, "k3"),  # can't be paid (70 left): stores nothing...
        (20, "k2"),
        (90, "k3"),  # ...so the same request again is decided afresh, and refused again
        (20, "k2"),
    ]
    outcomes = await asyncio.gather(
        *(services.tips.tip_stream(BOB, stream.id, amount, "", key) for amount, key in burst),
        return_exceptions=True,
    )
    await services.events.drain()

    assert tip_batches == [len(burst)]
    assert [answer(outcome) for outcome in outcomes] == [
        "landed", "replayed", "conflict", "refused", "landed", "refused", "replayed",
    ]  # fmt: skip
    first, again, _, _, second, _, second_again = outcomes
    assert isinstance(first, TipOutcome) and isinstance(again, TipOutcome)
    assert isinstance(second, TipOutcome) and isinstance(second_again, TipOutcome)
    assert again.tip == first.tip and second_again.tip == second.tip
    assert [event.tip.id for event in heard] == [first.tip.id, second.tip.id]
    assert await services.ledger.balance(BOB.user_id) == 50
    assert len(await services.db.fetch_all("SELECT id FROM tips")) == 2

    # Later, alone: still the first answer; and k3 lands once Bob can pay it.
    later = await services.tips.tip_stream(BOB, stream.id, 30, "", "k1")
    assert later.replayed and later.tip == first.tip
    await fund(services, BOB, 40)
    assert not (await services.tips.tip_stream(BOB, stream.id, 90, "", "k3")).replayed
    assert await services.ledger.balance(BOB.user_id) == 0
    assert len(heard) == 3
    assert await services.ledger.check_books() == []


async def test_a_burst_written_in_several_inserts_of_each_kind_matches_every_row_to_its_tip(
    services: Services, tip_batches: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch's rows go in multi-row INSERTs of a few hundred tips; three here, so this burst
    # takes several of each (wallets, transactions, entries, tip records). Ids come back by key,
    # member and transaction, never by the position of a RETURNING row.
    monkeypatch.setattr(core.money.ledger, "_ROWS_PER_INSERT", 3)
    streamers = [
        Identity(user_id=2000 + n, username=f"s{n}", display_name=f"S{n}") for n in range(5)
    ]
    streams = [await page(services, streamer) for streamer in streamers]  # no wallets yet
    await fund(services, BOB, 100)
    await fund(services, CAROL, 30)
    heard = heard_tips(services)
    burst = [  # (donor, stream, amount, key)
        (BOB, streams[0], 10, "b0"),
        (CAROL, streams[1], 20, "c1"),
        (BOB, streams[2], 15, "b2"),
        (BOB, streams[0], 10, "b0"),  # again: the first answer
        (CAROL, streams[3], 20, "c3"),  # 10 left
        (BOB, streams[4], 25, "b4"),
        (BOB, streams[1], 30, "b1"),
        (BOB, streams[3], 25, "b3"),  # 20 left
        (CAROL, streams[4], 10, "c4"),
    ]
    outcomes = await asyncio.gather(
        *(
            services.tips.tip_stream(donor, stream.id, amount, key, key)
            for donor, stream, amount, key in burst
        ),
        return_exceptions=True,
    )
    await services.events.drain()

    assert tip_batches == [len(burst)]
    assert [answer(outcome) for outcome in outcomes] == [
        "landed", "landed", "landed", "replayed", "refused",
        "landed", "landed", "refused", "landed",
    ]  # fmt: skip
    landed = [outcome for outcome in outcomes if isinstance(outcome, TipOutcome)]
    assert [outcome.donor_balance for outcome in landed] == [90, 10, 75, 75, 50, 20, 0]
    for outcome, (donor, stream, amount, key) in zip(outcomes, burst, strict=True):
        if not isinstance(outcome, TipOutcome):
            continue
        tip = outcome.tip
        assert (tip.donor_id, tip.stream_id, tip.amount, tip.message) == (
            donor.user_id,
            stream.id,
            amount,
            key,
        )
        assert await services.ledger.tip(tip.id) == tip
        rows = await services.db.fetch_all(
            "SELECT t.idempotency_key, a.member_id, e.amount FROM ledger_transactions t"
            " JOIN ledger_entries e ON e.transaction_id = t.id"
            " JOIN ledger_accounts a ON a.id = e.account_id WHERE t.id = ? ORDER BY e.id",
            (tip.transaction_id,),
        )
        assert [tuple(row) for row in rows] == [
            (key, donor.user_id, -amount),
            (key, stream.owner_id, amount),
        ]
    balances = [await services.ledger.balance(who.user_id) for who in (BOB, CAROL, *streamers)]
    assert balances == [20, 0, 10, 50, 15, 0, 35]
    # Only the streamers a tip reached had a wallet opened for them.
    opened = await services.db.fetch_all(
        "SELECT member_id FROM ledger_accounts WHERE member_id >= 2000 ORDER BY member_id"
    )
    assert [row["member_id"] for row in opened] == [2000, 2001, 2002, 2004]
    heard.sort(key=lambda event: event.tip.id)
    assert [event.tip.message for event in heard] == ["b0", "c1", "b2", "b4", "b1", "c4"]
    assert await services.ledger.check_books() == []

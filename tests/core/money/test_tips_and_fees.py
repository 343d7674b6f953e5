"""Tips with their rules and alerts; the go-live fee and the streaming pass."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from core.config.settings import Settings
from core.kernel.clock import ManualClock
from core.kernel.errors import Conflict, InvalidInput, LiveKitUnavailable, NotFound, PaymentRefused
from core.kernel.events import inline
from core.money import Renewal
from core.money import fees as fees_module
from core.money.tips import TipEvent
from core.services import Services
from tests.conftest import ALICE, BOB
from tests.core.money.test_ledger import CAROL, MOD, fund, page
from tests.fakes.livekit import FakeLiveKit
from tests.outbox_events import FailedAfterTheEvent, fail_after_recording, recorded


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        tips=dataclasses.replace(settings.tips, blocked_words=("darn",), message_max=60),
    )


async def test_a_tip_reaches_the_room_and_the_listeners(
    services: Services, livekit: FakeLiveKit
) -> None:
    await page(services, ALICE)
    await services.streams.go_live(ALICE.user_id)
    await fund(services, BOB, 100)
    heard: list[TipEvent] = []

    async def listener(event: TipEvent) -> None:
        heard.append(event)

    services.events.wire("test", [inline(TipEvent, listener)])
    outcome = await services.tips.tip_member(BOB, ALICE.user_id, 25, "go go", "k1")
    await services.events.drain()
    assert outcome.donor_balance == 75 and not outcome.replayed
    [sent] = livekit.sent_data
    assert sent.topic == "tips"
    assert json.loads(sent.text) == {
        "type": "tip",
        "id": outcome.tip.id,
        "from": "Bob",
        "amount": 25,
        "message": "go go",
    }
    assert [event.tip.id for event in heard] == [outcome.tip.id]
    # A retry is answered, but nobody is told twice.
    again = await services.tips.tip_member(BOB, ALICE.user_id, 25, "go go", "k1")
    assert again.replayed and len(livekit.sent_data) == 1 and len(heard) == 1


async def test_a_tip_survives_livekit_being_down(services: Services, livekit: FakeLiveKit) -> None:
    await page(services, ALICE)
    await services.streams.go_live(ALICE.user_id)
    await fund(services, BOB, 100)
    livekit.fail_next("SendData", code="unavailable")
    outcome = await services.tips.tip_member(BOB, ALICE.user_id, 25, "", "k1")
    assert outcome.tip.amount == 25 and await services.ledger.balance(ALICE.user_id) == 25


async def test_tip_messages_lose_links_and_filtered_words(services: Services) -> None:
    clean = services.tips.clean_message
    assert clean("see https://evil.example/x now") == "see now"
    assert clean("join discord.gg/abc or www.spam.net!") == "join or"
    assert clean("well darn it, DARN") == "well •••• it, ••••"
    assert clean("a\u202eb\x00c") == "abc"
    with pytest.raises(InvalidInput, match="at most 60 characters"):
        clean("x" * 61)


async def test_tip_rules_are_explained(services: Services) -> None:
    await page(services, ALICE)
    await fund(services, BOB, 100_000)
    with pytest.raises(InvalidInput, match="between 10 credits and 10,000 credits"):
        await services.tips.tip_member(BOB, ALICE.user_id, 9, "", "a")
    with pytest.raises(InvalidInput, match="between 10 credits and 10,000 credits"):
        await services.tips.tip_member(BOB, ALICE.user_id, 10_001, "", "b")
    with pytest.raises(PaymentRefused, match="can't tip yourself"):
        await services.tips.tip_member(ALICE, ALICE.user_id, 10, "", "c")
    with pytest.raises(NotFound, match="no stream page"):
        await services.tips.tip_member(ALICE, BOB.user_id, 10, "", "d")
    assert await services.ledger.balance(BOB.user_id) == 100_000


async def test_a_hundred_tips_at_once_spend_exactly_what_there_is(services: Services) -> None:
    stream = await page(services, ALICE)
    await fund(services, BOB, 1000)

    async def one(n: int) -> bool:
        try:
            await services.tips.tip_stream(BOB, stream.id, 15, f"#{n}", f"tip-{n}")
        except PaymentRefused:
            return False
        return True

    results = await asyncio.gather(*(one(n) for n in range(100)))
    assert results.count(True) == 1000 // 15 == 66
    assert results.count(False) == 34
    assert await services.ledger.balance(BOB.user_id) == 1000 - 66 * 15
    assert await services.ledger.balance(ALICE.user_id) == 66 * 15
    assert len(await services.db.fetch_all("SELECT id FROM tips")) == 66
    assert await services.ledger.check_books() == []


async def test_leaderboards_count_unrefunded_tips_in_the_period(
    services: Services, clock: ManualClock
) -> None:
    stream = await page(services, ALICE)
    await page(services, BOB)
    carol_id = CAROL.user_id
    await fund(services, CAROL, 1000)
    await fund(services, BOB, 1000)
    old = await services.tips.tip_stream(CAROL, stream.id, 500, "", "old")
    clock.advance(8 * 86400)
    await services.tips.tip_stream(BOB, stream.id, 40, "", "b1")
    refunded = await services.tips.tip_stream(CAROL, stream.id, 100, "", "c1")
    await services.tips.refund(refunded.tip.id, MOD, "mistake")
    week = await services.tips.top_donors("week")
    assert [(s.name, s.total) for s in week] == [("Bob", 40)]
    ever = await services.tips.top_donors("all", streamer_id=ALICE.user_id)
    assert [(s.member_id, s.total, s.count) for s in ever] == [
        (carol_id, 500, 1),
        (BOB.user_id, 40, 1),
    ]
    assert [(s.name, s.total) for s in await services.tips.top_streamers("all")] == [("Alice", 540)]
    assert old.tip.amount == 500


class TestGoLiveFee:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, fees=dataclasses.replace(settings.fees, golive_fee=50))

    async def test_going_live_costs_the_fee_once(self, services: Services) -> None:
        await page(services, ALICE)
        await fund(services, ALICE, 120)
        event = await services.streams.go_live(ALICE.user_id, request_key="i1")
        assert await services.ledger.balance(ALICE.user_id) == 70
        [fee] = await services.db.fetch_all("SELECT * FROM golive_fees")
        assert fee["session_id"] == event.session.id and fee["refund_transaction_id"] is None
        with pytest.raises(Conflict, match="already live"):
            await services.streams.go_live(ALICE.user_id, request_key="i1")
        assert await services.ledger.balance(ALICE.user_id) == 70

    async def test_without_credits_nothing_opens(
        self, services: Services, livekit: FakeLiveKit
    ) -> None:
        await page(services, ALICE)
        await fund(services, ALICE, 49)
        with pytest.raises(PaymentRefused, match=r"Going live costs 50 credits\. You have 49"):
            await services.streams.go_live(ALICE.user_id)
        assert (
            livekit.rooms == {} and not (await services.streams.get_by_owner(ALICE.user_id)).active
        )

    async def test_refunded_when_livekit_refuses(
        self, services: Services, livekit: FakeLiveKit
    ) -> None:
        await page(services, ALICE)
        await fund(services, ALICE, 100)
        livekit.fail_next("CreateRoom", code="internal")
        with pytest.raises(LiveKitUnavailable):
            await services.streams.go_live(ALICE.user_id, request_key="i1")
        assert await services.ledger.balance(ALICE.user_id) == 100
        kinds = [line.kind for line in await services.ledger.history(ALICE.user_id)]
        assert kinds == ["fee_refund", "golive_fee", "grant"]
        # A retry of that same request is not a free go-live.
        with pytest.raises(Conflict, match="already used"):
            await services.streams.go_live(ALICE.user_id, request_key="i1")
        await services.streams.go_live(ALICE.user_id, request_key="i2")
        assert await services.ledger.balance(ALICE.user_id) == 50

    async def test_a_fee_left_behind_by_a_crash_is_refunded_later(
        self, services: Services, clock: ManualClock
    ) -> None:
        stream = await page(services, ALICE)
        await fund(services, ALICE, 100)
        # The process died after charging, before opening the room.
        await services.ledger.pay_to_go_live(ALICE.user_id, stream.slug, 50, "golive-fee:lost")
        clock.advance(10 * 60)
        await services.streams.go_live(ALICE.user_id)
        assert await services.ledger.balance(ALICE.user_id) == 50
        assert await services.ledger.check_books() == []


class TestStreamingPass:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(
            settings,
            fees=dataclasses.replace(settings.fees, mode="pass", pass_price=300, pass_days=30),
        )

    async def test_a_pass_is_needed_bought_renewed_and_cancelled(
        self, services: Services, clock: ManualClock
    ) -> None:
        await page(services, ALICE)
        with pytest.raises(PaymentRefused, match="needs a streaming pass"):
            await services.streams.go_live(ALICE.user_id)
        await fund(services, ALICE, 700)
        bought = await services.passes.buy(ALICE.user_id, "p1")
        assert await services.passes.buy(ALICE.user_id, "p1") == bought  # a retry: same pass
        assert await services.ledger.balance(ALICE.user_id) == 400
        await services.streams.go_live(ALICE.user_id)
        await services.streams.end(ALICE.user_id)

        clock.advance(29 * 86400 + 3600)
        [due] = await services.passes.reminders_due()
        assert due.member_id == ALICE.user_id
        assert await services.passes.reminders_due() == []  # told once

        clock.advance(86400)
        [renewal] = await services.passes.renew_due()
        assert renewal.renewed and await services.ledger.balance(ALICE.user_id) == 100
        assert await services.passes.renew_due() == []

        cancelled = await services.passes.cancel(ALICE.user_id)
        assert not cancelled.auto_renew
        clock.advance(31 * 86400)
        assert await services.passes.renew_due() == []
        with pytest.raises(PaymentRefused, match="needs a streaming pass"):
            await services.streams.go_live(ALICE.user_id)

    async def test_a_renewal_the_member_cannot_pay_ends_the_pass(
        self, services: Services, clock: ManualClock
    ) -> None:
        await fund(services, ALICE, 300)
        await services.passes.buy(ALICE.user_id, "p1")
        clock.advance(31 * 86400)
        [renewal] = await services.passes.renew_due()
        assert not renewal.renewed and "You have 0 credits" in str(renewal.reason)
        status = await services.passes.status(ALICE.user_id)
        assert status is not None and not status.auto_renew

    async def test_a_renewal_writes_the_members_dm_in_its_own_transaction(
        self, services: Services, clock: ManualClock
    ) -> None:
        await fund(services, ALICE, 600)
        await services.passes.buy(ALICE.user_id, "p1")
        clock.advance(31 * 86400)
        [renewal] = await services.passes.renew_due()
        renewed = await services.passes.status(ALICE.user_id)
        assert renewed is not None
        assert renewal == Renewal(ALICE.user_id, True, renewed.paid_until)
        assert await recorded(services.db, Renewal) == [renewal]

    async def test_a_renewal_whose_transaction_fails_leaves_neither_charge_nor_dm(
        self, services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await fund(services, ALICE, 600)
        bought = await services.passes.buy(ALICE.user_id, "p1")
        clock.advance(31 * 86400)
        fail_after_recording(monkeypatch, fees_module)
        with pytest.raises(FailedAfterTheEvent):
            await services.passes.renew_due()
        assert await recorded(services.db, Renewal) == []
        assert await services.ledger.balance(ALICE.user_id) == 300  # not charged either
        assert await services.passes.status(ALICE.user_id) == bought

    async def test_an_ended_pass_writes_the_members_dm_with_the_end(
        self, services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await fund(services, ALICE, 300)
        bought = await services.passes.buy(ALICE.user_id, "p1")
        clock.advance(31 * 86400)
        with monkeypatch.context() as failing:
            fail_after_recording(failing, fees_module)
            with pytest.raises(FailedAfterTheEvent):
                await services.passes.renew_due()
            assert await recorded(services.db, Renewal) == []
            assert await services.passes.status(ALICE.user_id) == bought  # still renewing

        [ended] = await services.passes.renew_due()
        assert (ended.renewed, ended.paid_until) == (False, bought.paid_until)
        assert await recorded(services.db, Renewal) == [ended]

    async def test_two_processes_renewing_at_once_charge_and_tell_once(
        self, services: Services, clock: ManualClock
    ) -> None:
        await fund(services, ALICE, 600)
        await fund(services, BOB, 300)
        await services.passes.buy(ALICE.user_id, "p1")
        await services.passes.buy(BOB.user_id, "p2")
        clock.advance(31 * 86400)
        first, second = await asyncio.gather(
            services.passes.renew_due(), services.passes.renew_due()
        )
        told = sorted(await recorded(services.db, Renewal), key=lambda r: r.member_id)
        assert sorted(first + second, key=lambda r: r.member_id) == told
        assert [(r.member_id, r.renewed) for r in told] == [
            (ALICE.user_id, True),
            (BOB.user_id, False),
        ]
        assert await services.ledger.balance(ALICE.user_id) == 0

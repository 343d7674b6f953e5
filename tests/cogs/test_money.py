"""/tip, the Tip button, /tips top, /wallet and /credits as members and moderators use them."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from simcord import SetupError

from core.config.settings import Settings
from core.kernel.clock import ManualClock
from core.kernel.errors import Conflict, InvalidInput, LiveKitUnavailable, NotFound, PaymentRefused
from core.services import Services
from core.streams.service import StreamDraft
from golive import scheduler
from tests.cogs.test_streams import buttons, domain_errors
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit
from tests.fakes.stripe import SECRET_KEY, FakeStripe, running_fake_stripe


async def page_for(services: Services, member: Any, name: str) -> None:
    await services.streams.create(
        owner_id=member.id, username=member.name, display_name=name, draft=StreamDraft("Show")
    )


async def fund(services: Services, member: Any, amount: int) -> None:
    await services.ledger.grant(
        member.id, amount, moderator_id=1, reason="test", key=f"fund-{member.id}-{amount}"
    )


def dms(member: Any) -> list[Any]:
    return member.user.dm_channel.history()


async def test_tip_moves_credits_and_the_streamer_gets_a_dm(
    world: World, services: Services
) -> None:
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 100)
    result = await world.bob.slash(
        world.general, "tip", member=world.alice, amount=30, message="great @everyone"
    )
    assert result.ephemeral
    assert result.response.content == (
        "Thank you: **30 credits** to **Alice**. Your balance is now 70 credits."
    )
    [alert] = dms(world.alice)
    assert alert.embeds[0].title == "💸 bob tipped you 30 credits"
    assert alert.embeds[0].description == "great @everyone"
    assert await services.ledger.balance(world.alice.id) == 30


async def test_tip_refusals_are_explained_and_move_nothing(
    world: World, services: Services
) -> None:
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 20)
    mine = await world.alice.slash(world.general, "tip", member=world.alice, amount=10)
    assert mine.response.content == "You can't tip yourself."
    stranger = await world.alice.slash(world.general, "tip", member=world.bob, amount=10)
    assert "has no stream page" in stranger.response.content
    poor = await world.bob.slash(world.general, "tip", member=world.alice, amount=21)
    assert poor.response.content == (
        "You have 20 credits, but this needs 21 credits. Nothing was charged."
    )
    tiny = await world.bob.slash(world.general, "tip", member=world.alice, amount=5)
    assert tiny.response.content == "A tip is between 10 credits and 10,000 credits."
    assert all(r.ephemeral for r in (mine, stranger, poor, tiny))
    assert domain_errors(world) == [PaymentRefused, NotFound, PaymentRefused, InvalidInput]
    assert await services.ledger.balance(world.bob.id) == 20
    assert dms(world.alice) == []


async def test_the_tip_button_on_an_announcement_opens_a_form_even_after_a_restart(
    world: World, services: Services, make_bot: Any
) -> None:
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 100)
    await world.alice.slash(world.general, "stream golive")
    # The announcement (a chat thread's starter message may follow it).
    [announcement] = [m for m in world.general.history() if m.embeds]
    old_bot = world.env.bot
    await world.env.restart_bot(make_bot())
    await old_bot.close()  # the old process is gone: it no longer hears tips
    shown = await world.bob.click(announcement, label="Tip")
    assert shown.modal["title"] == "Tip Alice"
    done = await world.bob.submit_modal(
        shown, {"tip:amount": "25", "tip:message": "see www.spam.example.com"}
    )
    assert done.ephemeral and "**25 credits** to **Alice**" in done.response.content
    [alert] = dms(world.alice)
    assert alert.embeds[0].description == "see"
    own = await world.alice.click(announcement, label="Tip")
    assert own.ephemeral and "can't tip yourself" in own.response.content
    bad = await world.bob.submit_modal(
        await world.bob.click(announcement, label="Tip"), {"tip:amount": "lots"}
    )
    assert "whole number" in bad.response.content
    assert domain_errors(world) == [InvalidInput]


async def test_wallet_shows_balance_and_history(world: World, services: Services) -> None:
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 100)
    await world.bob.slash(world.general, "tip", member=world.alice, amount=40)
    wallet = await world.bob.slash(world.general, "wallet balance")
    assert wallet.ephemeral
    embed = wallet.response.embeds[0]
    assert embed.title == "Your wallet: 60 credits"
    assert embed.description.splitlines()[0].startswith("`-40` Tip to Alice")
    history = await world.alice.slash(world.general, "wallet history")
    assert history.response.embeds[0].description.startswith("`+40` Tip from bob")
    assert history.response.embeds[0].footer.text == "Page 1 of 1 · 1 entries"


async def test_topup_without_stripe_explains_how_to_enable_it(world: World) -> None:
    result = await world.bob.slash(world.general, "wallet topup", amount=500)
    assert result.ephemeral and "STRIPE_SECRET_KEY" in result.response.content
    assert domain_errors(world) == [PaymentRefused]


async def test_payouts_are_requested_listed_paid_and_rejected(
    world: World, services: Services
) -> None:
    await fund(services, world.bob, 2500)
    no_page = await world.bob.slash(world.general, "wallet payout", amount=1000)
    assert no_page.response.content.startswith("Payouts are for streamers")
    await page_for(services, world.bob, "Bob")
    small = await world.bob.slash(world.general, "wallet payout", amount=10)
    assert small.response.content == "A payout is at least 1,000 credits."
    first = await world.bob.slash(world.general, "wallet payout", amount=1000)
    assert "Payout request **#1** for **1,000 credits**" in first.response.content
    await world.bob.slash(world.general, "wallet payout", amount=1200)
    assert await services.ledger.balance(world.bob.id) == 300
    too_much = await world.bob.slash(world.general, "wallet payout", amount=1000)
    assert "You have 300 credits" in too_much.response.content

    listed = await world.admin.slash(world.general, "credits payouts")
    lines = listed.response.embeds[0].description.splitlines()
    assert [line.split(" · ")[0] for line in lines] == ["**#1**", "**#2**"]
    paid = await world.admin.slash(world.general, "credits payout-paid", request=1, note="IBAN ok")
    assert "is marked paid" in paid.response.content
    rejected = await world.admin.slash(
        world.general, "credits payout-reject", request=2, reason="details missing"
    )
    assert "1,200 credits went back" in rejected.response.content
    again = await world.admin.slash(world.general, "credits payout-paid", request=1)
    assert again.response.content == "Payout request #1 is already paid."
    assert await services.ledger.balance(world.bob.id) == 1500
    assert (await services.ledger.platform_balances())["payouts"] == 1000
    assert [m.content.split(" for ")[0].split(" was ")[0] for m in dms(world.bob)] == [
        "Your payout request #1",
        "Your payout request #2",
    ]
    assert "IBAN ok" in dms(world.bob)[0].content
    assert domain_errors(world) == [PaymentRefused, InvalidInput, PaymentRefused, Conflict]


async def test_moderators_grant_revoke_refund_and_audit(world: World, services: Services) -> None:
    await page_for(services, world.alice, "Alice")
    granted = await world.admin.slash(
        world.general, "credits grant", member=world.bob, amount=300, reason="event prize"
    )
    assert "Granted **300 credits**" in granted.response.content
    assert "Their balance: 300 credits" in granted.response.content
    await world.bob.slash(world.general, "tip", member=world.alice, amount=100)
    refund = await world.admin.slash(world.general, "credits refund-tip", tip=1, reason="oops")
    assert refund.response.content == "Tip #1 (100 credits from bob) is refunded."
    twice = await world.admin.slash(world.general, "credits refund-tip", tip=1, reason="oops")
    assert twice.response.content == "Tip #1 has already been refunded."
    revoked = await world.admin.slash(
        world.general, "credits revoke", member=world.bob, amount=50, reason="duplicate prize"
    )
    assert "Their balance: 250 credits" in revoked.response.content
    too_much = await world.admin.slash(
        world.general, "credits revoke", member=world.bob, amount=999, reason="x"
    )
    assert too_much.response.content.startswith("That member has only 250 credits")
    audit = await world.admin.slash(world.general, "credits audit", member=world.bob)
    lines = audit.response.embeds[0].description.splitlines()
    assert len(lines) == 3 and all(f"by <@{world.admin.id}>" in line for line in lines)
    assert "Removed by a moderator: duplicate prize" in lines[0]
    assert domain_errors(world) == [Conflict, PaymentRefused]
    with pytest.raises(SetupError, match="default-member-permissions"):
        await world.bob.slash(
            world.general, "credits grant", member=world.bob, amount=1, reason="me"
        )


async def test_tips_top_shows_the_leaderboards(world: World, services: Services) -> None:
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 500)
    await world.bob.slash(world.general, "tip", member=world.alice, amount=120)
    board = await world.admin.slash(world.general, "tips top")
    embed = board.response.embeds[0]
    assert embed.title == "Tips, this week"
    assert [field.value for field in embed.fields] == [
        "🥇 **bob** · 120 credits (1 tip)",
        "🥇 **Alice** · 120 credits (1 tip)",
    ]
    alice_only = await world.admin.slash(
        world.general, "tips top", period="all", streamer=world.admin
    )
    assert alice_only.response.embeds[0].description == "No tips yet."


class TestFee:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, fees=dataclasses.replace(settings.fees, golive_fee=50))

    async def test_golive_charges_the_fee_and_refunds_it_when_livekit_fails(
        self, world: World, services: Services, livekit: FakeLiveKit
    ) -> None:
        await page_for(services, world.alice, "Alice")
        poor = await world.alice.slash(world.general, "stream golive")
        assert poor.response.content.startswith("Going live costs 50 credits. You have 0")
        assert world.general.history() == []
        await fund(services, world.alice, 80)
        await livekit.down()
        down = await world.alice.slash(world.general, "stream golive")
        assert "can't be reached" in down.response.content
        assert await services.ledger.balance(world.alice.id) == 80
        await livekit.up()
        live = await world.alice.slash(world.general, "stream golive")
        assert live.response.embeds[0].title.startswith("You're live")
        assert await services.ledger.balance(world.alice.id) == 30
        wallet = await world.alice.slash(world.general, "wallet balance")
        assert [f.value for f in wallet.response.embeds[0].fields] == ["50 credits"]
        assert domain_errors(world) == [PaymentRefused, LiveKitUnavailable]


class TestPass:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(
            settings, fees=dataclasses.replace(settings.fees, mode="pass", pass_price=300)
        )

    async def test_buy_renew_remind_and_cancel_a_pass(
        self, world: World, services: Services, clock: ManualClock
    ) -> None:
        await page_for(services, world.alice, "Alice")
        await fund(services, world.alice, 700)
        bought = await world.alice.slash(world.general, "wallet pass buy")
        assert "Your streaming pass is valid until" in bought.response.content
        live = await world.alice.slash(world.general, "stream golive")
        assert live.response.embeds[0].title.startswith("You're live")

        jobs = scheduler.core_jobs(services) + scheduler.discord_jobs(world.env.bot)
        clock.advance(29 * 86400 + 3600)
        await scheduler.run_once(jobs)
        await services.events.drain()
        [reminder] = dms(world.alice)
        assert "renews" in reminder.content and "/wallet pass cancel" in reminder.content
        clock.advance(86400)
        await scheduler.run_once(jobs)
        await services.events.drain()
        assert "was renewed until" in dms(world.alice)[-1].content
        assert await services.ledger.balance(world.alice.id) == 100

        cancelled = await world.alice.slash(world.general, "wallet pass cancel")
        assert "won't renew" in cancelled.response.content


async def test_pass_commands_explain_when_there_is_nothing_to_do(world: World) -> None:
    bought = await world.alice.slash(world.general, "wallet pass buy")
    assert bought.response.content == "This community doesn't use streaming passes."
    cancelled = await world.alice.slash(world.general, "wallet pass cancel")
    assert cancelled.response.content == "You have no streaming pass to cancel."
    assert domain_errors(world) == [Conflict, NotFound]


class TestStripeTopup:
    @pytest_asyncio.fixture
    async def stripe_api(self) -> AsyncIterator[FakeStripe]:
        async with running_fake_stripe() as fake:
            yield fake

    @pytest.fixture
    def settings(self, settings: Settings, stripe_api: FakeStripe) -> Settings:
        stripe = dataclasses.replace(
            settings.stripe,
            secret_key=SECRET_KEY,
            webhook_secret="whsec_test_0123456789abcdef",
            api_base=stripe_api.url,
        )
        return dataclasses.replace(settings, stripe=stripe)

    async def test_topup_hands_a_private_checkout_link(
        self, world: World, stripe_api: FakeStripe
    ) -> None:
        result = await world.bob.slash(world.general, "wallet topup", amount=500)
        assert result.ephemeral
        assert "Buy **500 credits** for **5.00 USD**" in result.response.content
        [pay] = buttons(result.response)
        assert (pay["label"], pay["url"]) == (
            "Pay with Stripe",
            "https://checkout.stripe.com/c/pay/cs_test_1",
        )
        [created] = stripe_api.created
        assert created["metadata[member_id]"] == str(world.bob.id)
        small = await world.bob.slash(world.general, "wallet topup", amount=5)
        assert small.response.content == "A top-up is between 100 credits and 100,000 credits."
        assert domain_errors(world) == [InvalidInput]

"""/wallet as members use it: balance, history, top-ups, payout requests, the go-live fee and the
streaming pass."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core.config.settings import Settings
from core.kernel.clock import ManualClock
from core.kernel.errors import Conflict, InvalidInput, LiveKitUnavailable, NotFound, PaymentRefused
from core.services import Services
from golive import scheduler
from tests.bot.helpers import buttons, dms, domain_errors, fund, page_for
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit
from tests.fakes.stripe import SECRET_KEY, FakeStripe, running_fake_stripe


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
    assert history.response.embeds[0].footer.text == "Page 1 of 1 · 1 entry"


async def test_topup_without_stripe_explains_how_to_enable_it(world: World) -> None:
    result = await world.bob.slash(world.general, "wallet topup", amount=500)
    assert result.ephemeral and "STRIPE_SECRET_KEY" in result.response.content
    assert domain_errors(world) == [PaymentRefused]


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
        assert live.response.embeds[0].title.startswith("Your stream is starting")
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
        assert live.response.embeds[0].title.startswith("Your stream is starting")

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

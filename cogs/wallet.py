"""/wallet: your credits — balance, history, buying credits, payouts and the streaming pass."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import GOLIVE_PURPLE
from bot.i18n import locale_of, tr
from bot.ui import link_view
from core.kernel import i18n
from core.kernel.i18n import Credits, credits_in, decimal_in, t
from core.money import WalletLine
from core.services import Services

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["GoLiveBot"]
HISTORY_PAGE = 10


def wallet_line(line: WalletLine, locale: str = i18n.DEFAULT) -> str:
    sign = "+" if line.amount > 0 else "-"
    # Discord writes the date in each reader's own language and format.
    when = discord.utils.format_dt(line.created_at, "d")
    note = discord.utils.escape_markdown(line.said.said_in(locale))
    return f"`{sign}{decimal_in(locale, abs(line.amount))}` {note} · {when}"


class Wallet(commands.GroupCog, group_name="wallet"):
    """Your credits: spend them on tips and going live, earn them from tips."""

    pass_group = app_commands.Group(name="pass", description="Your monthly streaming pass.")

    def __init__(self, bot: GoLiveBot, services: Services) -> None:
        self.bot = bot
        self.services = services
        super().__init__()

    @app_commands.command(name="balance")
    async def balance(self, interaction: Interaction) -> None:
        """Your balance and your last transactions."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        ledger, locale = self.services.ledger, locale_of(interaction)
        user_id = interaction.user.id
        embed = discord.Embed(
            title=t(
                locale, "Your wallet: %(balance)s", balance=Credits(await ledger.balance(user_id))
            ),
            colour=GOLIVE_PURPLE,
        )
        lines = await ledger.history(user_id, limit=5)
        embed.description = "\n".join(wallet_line(line, locale) for line in lines) or t(
            locale, "No transactions yet."
        )
        fees = self.services.passes.policy
        if fees.mode == "pass":
            embed.add_field(
                name=t(locale, "Streaming pass"), value=await self._pass_text(user_id, locale)
            )
        elif fees.golive_fee:
            embed.add_field(
                name=t(locale, "Going live costs"), value=credits_in(locale, fees.golive_fee)
            )
        embed.set_footer(text=t(locale, "/wallet history for more · /wallet topup to buy credits"))
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="history")
    @app_commands.describe(page="Which page of your history (newest first)")
    async def history(
        self, interaction: Interaction, page: app_commands.Range[int, 1, 10_000] = 1
    ) -> None:
        """Every credit in and out of your wallet, newest first."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        ledger, user_id = self.services.ledger, interaction.user.id
        locale = locale_of(interaction)
        total = await ledger.history_count(user_id)
        pages = max(1, -(-total // HISTORY_PAGE))
        lines = await ledger.history(
            user_id, limit=HISTORY_PAGE, offset=(min(page, pages) - 1) * HISTORY_PAGE
        )
        embed = discord.Embed(
            title=t(locale, "Your wallet history"),
            description="\n".join(wallet_line(line, locale) for line in lines)
            or t(locale, "No transactions yet."),
            colour=GOLIVE_PURPLE,
        )
        embed.set_footer(
            text=t(locale, "Page %(page)s of %(pages)s", page=min(page, pages), pages=pages)
            + " · "
            + i18n.tn(locale, "%(n)s entry", "%(n)s entries", total)
        )
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="topup")
    @app_commands.describe(amount="How many credits to buy")
    async def topup(
        self, interaction: Interaction, amount: app_commands.Range[int, 1, 1_000_000_000]
    ) -> None:
        """Buy credits with a card (Stripe Checkout)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        checkout = await self.services.topups.start_checkout(interaction.user.id, amount)
        await interaction.followup.send(
            tr(
                interaction,
                "Buy **%(amount)s** for **%(price)s** on Stripe's secure page. Your wallet is "
                "credited as soon as Stripe confirms the payment. The link is just for you.",
                amount=Credits(checkout.credits),
                price=checkout.price_text,
            ),
            view=link_view(tr(interaction, "Pay with Stripe"), checkout.url, "💳"),
            ephemeral=True,
        )

    @app_commands.command(name="payout")
    @app_commands.describe(amount="How many credits to withdraw")
    async def payout(
        self, interaction: Interaction, amount: app_commands.Range[int, 1, 1_000_000_000]
    ) -> None:
        """Ask the moderators to pay out credits you earned."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        request = await self.services.payouts.request(
            interaction.user.id,
            interaction.user.display_name,
            amount,
            f"discord:{interaction.id}",
        )
        await interaction.followup.send(
            tr(
                interaction,
                "Payout request **#%(id)s** for **%(amount)s** is with the moderators. The "
                "credits are set aside from your wallet now; if the request is rejected they "
                "come back.",
                id=str(request.id),
                amount=Credits(request.amount),
            ),
            ephemeral=True,
        )

    @pass_group.command(name="buy")
    async def pass_buy(self, interaction: Interaction) -> None:
        """Buy (or extend) your monthly streaming pass from your balance."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        bought = await self.services.passes.buy(interaction.user.id, f"discord:{interaction.id}")
        await interaction.followup.send(
            tr(
                interaction,
                "Your streaming pass is valid until %(until)s and renews from your balance (you "
                "get a DM a day before). Stop renewing with `/wallet pass cancel`.",
                until=discord.utils.format_dt(bought.paid_until, "f"),
            ),
            ephemeral=True,
        )

    @pass_group.command(name="cancel")
    async def pass_cancel(self, interaction: Interaction) -> None:
        """Stop renewing your streaming pass (it stays valid until its end)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        cancelled = await self.services.passes.cancel(interaction.user.id)
        await interaction.followup.send(
            tr(
                interaction,
                "Your streaming pass won't renew. You can still go live until %(until)s.",
                until=discord.utils.format_dt(cancelled.paid_until, "f"),
            ),
            ephemeral=True,
        )

    async def _pass_text(self, user_id: int, locale: str) -> str:
        current = await self.services.passes.status(user_id)
        if current is None or not current.active(self.services.clock.now()):
            policy = self.services.passes.policy
            return t(
                locale,
                "None. `/wallet pass buy` (%(price)s for %(days)s days)",
                price=Credits(policy.pass_price),
                days=policy.pass_days,
            )
        # Discord writes "in 3 days" in the reader's own language.
        when = discord.utils.format_dt(current.paid_until, "R")
        if current.auto_renew:
            return t(locale, "Valid, renews %(when)s", when=when)
        return t(locale, "Valid, ends %(when)s", when=when)


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Wallet(bot, bot.services))

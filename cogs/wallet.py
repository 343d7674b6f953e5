"""/wallet: your credits — balance, history, buying credits, payouts and the streaming pass."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import GOLIVE_PURPLE
from bot.ui import link_view
from core.money import WalletLine, credits_text
from core.services import Services

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["GoLiveBot"]
HISTORY_PAGE = 10


def wallet_line(line: WalletLine) -> str:
    sign = "+" if line.amount > 0 else "-"
    when = discord.utils.format_dt(line.created_at, "d")
    note = discord.utils.escape_markdown(line.note)
    return f"`{sign}{abs(line.amount):,}` {note} · {when}"


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
        ledger = self.services.ledger
        user_id = interaction.user.id
        embed = discord.Embed(
            title=f"Your wallet: {credits_text(await ledger.balance(user_id))}",
            colour=GOLIVE_PURPLE,
        )
        lines = await ledger.history(user_id, limit=5)
        embed.description = "\n".join(map(wallet_line, lines)) or "No transactions yet."
        fees = self.services.passes.policy
        if fees.mode == "pass":
            embed.add_field(name="Streaming pass", value=await self._pass_text(user_id))
        elif fees.golive_fee:
            embed.add_field(name="Going live costs", value=credits_text(fees.golive_fee))
        embed.set_footer(text="/wallet history for more · /wallet topup to buy credits")
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="history")
    @app_commands.describe(page="Which page of your history (newest first)")
    async def history(
        self, interaction: Interaction, page: app_commands.Range[int, 1, 10_000] = 1
    ) -> None:
        """Every credit in and out of your wallet, newest first."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        ledger, user_id = self.services.ledger, interaction.user.id
        total = await ledger.history_count(user_id)
        pages = max(1, -(-total // HISTORY_PAGE))
        lines = await ledger.history(
            user_id, limit=HISTORY_PAGE, offset=(min(page, pages) - 1) * HISTORY_PAGE
        )
        embed = discord.Embed(
            title="Your wallet history",
            description="\n".join(map(wallet_line, lines)) or "No transactions yet.",
            colour=GOLIVE_PURPLE,
        )
        embed.set_footer(text=f"Page {min(page, pages)} of {pages} · {total} entries")
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
            f"Buy **{credits_text(checkout.credits)}** for **{checkout.price_text}** on Stripe's "
            "secure page. Your wallet is credited as soon as Stripe confirms the payment. "
            "The link is just for you.",
            view=link_view("Pay with Stripe", checkout.url, "💳"),
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
            f"Payout request **#{request.id}** for **{credits_text(request.amount)}** is with the "
            "moderators. The credits are set aside from your wallet now; if the request is "
            "rejected they come back.",
            ephemeral=True,
        )

    @pass_group.command(name="buy")
    async def pass_buy(self, interaction: Interaction) -> None:
        """Buy (or extend) your monthly streaming pass from your balance."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        bought = await self.services.passes.buy(interaction.user.id, f"discord:{interaction.id}")
        await interaction.followup.send(
            f"Your streaming pass is valid until {discord.utils.format_dt(bought.paid_until, 'f')} "
            "and renews from your balance (you get a DM a day before). "
            "Stop renewing with `/wallet pass cancel`.",
            ephemeral=True,
        )

    @pass_group.command(name="cancel")
    async def pass_cancel(self, interaction: Interaction) -> None:
        """Stop renewing your streaming pass (it stays valid until its end)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        cancelled = await self.services.passes.cancel(interaction.user.id)
        await interaction.followup.send(
            "Your streaming pass won't renew. You can still go live until "
            f"{discord.utils.format_dt(cancelled.paid_until, 'f')}.",
            ephemeral=True,
        )

    async def _pass_text(self, user_id: int) -> str:
        current = await self.services.passes.status(user_id)
        if current is None or not current.active(self.services.clock.now()):
            return f"None. `/wallet pass buy` ({self._price()})"
        renews = "renews" if current.auto_renew else "ends"
        return f"Valid, {renews} {discord.utils.format_dt(current.paid_until, 'R')}"

    def _price(self) -> str:
        policy = self.services.passes.policy
        return f"{credits_text(policy.pass_price)} for {policy.pass_days} days"


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Wallet(bot, bot.services))

"""/credits: moderators grant, revoke and refund credits and settle payout requests.

Every change here is a ledger transaction that records the moderator and their reason, so
`/credits audit` (and the database) can always say who moved what, and why.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import GOLIVE_PURPLE, NO_MENTIONS
from cogs.wallet import wallet_line
from core.money import PayoutRequest, RefundableTip, credits_text
from core.services import Services

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["GoLiveBot"]
Amount = app_commands.Range[int, 1, 1_000_000_000]
Reason = app_commands.Range[str, 1, 200]
CHOICES_SHOWN = 25  # Discord shows at most 25 autocomplete choices


def tip_choice_name(tip: RefundableTip) -> str:
    return f"#{tip.id} · {credits_text(tip.amount)} · {tip.donor_name} → {tip.streamer_name}"[:100]


def payout_choice_name(request: PayoutRequest) -> str:
    return f"#{request.id} · {credits_text(request.amount)} to {request.member_name}"[:100]


def _matches(typed: str, number: int, *names: str) -> bool:
    """What a moderator types: the number's start, or part of a name."""
    typed = typed.strip().lstrip("#").casefold()
    return not typed or str(number).startswith(typed) or any(typed in n.casefold() for n in names)


async def tip_choices(interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
    """The newest tips not refunded yet, so a number comes with who sent what to whom."""
    tips = await interaction.client.services.tips.refundable(limit=100)
    found = [t for t in tips if _matches(current, t.id, t.donor_name, t.streamer_name)]
    return [app_commands.Choice(name=tip_choice_name(t), value=t.id) for t in found][:CHOICES_SHOWN]


async def payout_choices(interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Open payout requests, so a number comes with its member and amount."""
    pending = await interaction.client.services.payouts.pending(limit=100)
    found = [r for r in pending if _matches(current, r.id, r.member_name)]
    return [app_commands.Choice(name=payout_choice_name(r), value=r.id) for r in found][
        :CHOICES_SHOWN
    ]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Credits(commands.GroupCog, group_name="credits"):
    """Moderate credits and payouts."""

    def __init__(self, bot: GoLiveBot, services: Services) -> None:
        self.bot = bot
        self.services = services
        super().__init__()

    @app_commands.command(name="grant")
    @app_commands.describe(
        member="Who receives the credits",
        amount="How many credits",
        reason="Why (kept on record)",
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def grant(
        self, interaction: Interaction, member: discord.User, amount: Amount, reason: Reason
    ) -> None:
        """Give a member credits from the platform."""
        await self._adjust(interaction, member, amount, reason, grant=True)

    @app_commands.command(name="revoke")
    @app_commands.describe(
        member="Whose credits to take back",
        amount="How many credits",
        reason="Why (kept on record)",
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def revoke(
        self, interaction: Interaction, member: discord.User, amount: Amount, reason: Reason
    ) -> None:
        """Take credits back from a member (never more than they hold)."""
        await self._adjust(interaction, member, amount, reason, grant=False)

    async def _adjust(
        self,
        interaction: Interaction,
        member: discord.User,
        amount: int,
        reason: str,
        *,
        grant: bool,
    ) -> None:
        """Grant or revoke, keyed by the interaction so a retried command moves credits once."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        move = self.services.ledger.grant if grant else self.services.ledger.revoke
        posted = await move(
            member.id,
            amount,
            moderator_id=interaction.user.id,
            reason=reason,
            key=f"discord:{interaction.id}",
        )
        balance = await self.services.ledger.balance(member.id)
        done = (
            f"Granted **{credits_text(amount)}** to {member.mention}"
            if grant
            else f"Took back **{credits_text(amount)}** from {member.mention}"
        )
        await interaction.followup.send(
            f"{done} (transaction #{posted.transaction_id}). "
            f"Their balance: {credits_text(balance)}.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="refund-tip")
    @app_commands.describe(tip="The tip number (from the streamer's alert)", reason="Why")
    @app_commands.autocomplete(tip=tip_choices)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def refund_tip(
        self, interaction: Interaction, tip: app_commands.Range[int, 1], reason: Reason
    ) -> None:
        """Give a tip back to the member who sent it."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        refunded = await self.services.tips.refund(tip, interaction.user.id, reason)
        await interaction.followup.send(
            f"Tip #{refunded.id} ({credits_text(refunded.amount)} from "
            f"{discord.utils.escape_markdown(refunded.donor_name)}) is refunded.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="payouts")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def payouts(self, interaction: Interaction) -> None:
        """Open payout requests, oldest first."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        pending = await self.services.payouts.pending()
        embed = discord.Embed(title="Open payout requests", colour=GOLIVE_PURPLE)
        embed.description = "\n".join(map(_payout_line, pending)) or "None. All settled."
        embed.set_footer(text="/credits payout-paid or /credits payout-reject with the number")
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="payout-paid")
    @app_commands.describe(request="The request number", note="e.g. the bank reference")
    @app_commands.autocomplete(request=payout_choices)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def payout_paid(
        self,
        interaction: Interaction,
        request: app_commands.Range[int, 1],
        note: app_commands.Range[str, 0, 200] = "",
    ) -> None:
        """Mark a payout request as paid (you sent the money outside golive)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        paid = await self.services.payouts.mark_paid(request, interaction.user.id, note)
        await self._tell(
            paid.member_id,
            f"Your payout request #{paid.id} for {credits_text(paid.amount)} was paid."
            + (f" Note: {note}" if note else ""),
        )
        await interaction.followup.send(
            f"Payout request #{paid.id} ({credits_text(paid.amount)} to "
            f"{discord.utils.escape_markdown(paid.member_name)}) is marked paid.",
            ephemeral=True,
        )

    @app_commands.command(name="payout-reject")
    @app_commands.describe(request="The request number", reason="Why (the member can ask)")
    @app_commands.autocomplete(request=payout_choices)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def payout_reject(
        self, interaction: Interaction, request: app_commands.Range[int, 1], reason: Reason
    ) -> None:
        """Reject a payout request; its credits go back to the member's wallet."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        rejected = await self.services.payouts.reject(request, interaction.user.id, reason)
        await self._tell(
            rejected.member_id,
            f"Your payout request #{rejected.id} was rejected ({reason}); "
            f"{credits_text(rejected.amount)} went back to your wallet.",
        )
        await interaction.followup.send(
            f"Payout request #{rejected.id} is rejected; {credits_text(rejected.amount)} went "
            "back to the member's wallet.",
            ephemeral=True,
        )

    @app_commands.command(name="audit")
    @app_commands.describe(member="Whose moderator changes to show")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def audit(self, interaction: Interaction, member: discord.User) -> None:
        """Moderator grants, revokes and refunds for a member, with who did them."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        trail = await self.services.ledger.audit_trail(member.id)
        embed = discord.Embed(
            title=f"Credit changes by moderators for {member.display_name}", colour=GOLIVE_PURPLE
        )
        embed.description = (
            "\n".join(f"{wallet_line(line)} · by <@{moderator}>" for line, moderator in trail)
            or "None."
        )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _tell(self, user_id: int, text: str) -> None:
        """A DM to the member about their payout; closed DMs are fine (`/wallet` shows it)."""
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            await user.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            log.info("could not DM %s about their payout: %s", user_id, error)


def _payout_line(request: PayoutRequest) -> str:
    when = discord.utils.format_dt(request.requested_at, "R")
    name = discord.utils.escape_markdown(request.member_name)
    return f"**#{request.id}** · {name} (<@{request.member_id}>) · {credits_text(request.amount)} · {when}"


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Credits(bot, bot.services))

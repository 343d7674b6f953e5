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
from bot.i18n import locale_of, tr
from cogs.wallet import wallet_line
from core.kernel import i18n
from core.kernel.i18n import N_, t
from core.money import PayoutRequest, RefundableTip
from core.services import Services

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["GoLiveBot"]
Amount = app_commands.Range[int, 1, 1_000_000_000]
Reason = app_commands.Range[str, 1, 200]
CHOICES_SHOWN = 25  # Discord shows at most 25 autocomplete choices


def tip_choice_name(tip: RefundableTip, locale: str = i18n.DEFAULT) -> str:
    amount = i18n.credits_in(locale, tip.amount)
    return f"#{tip.id} · {amount} · {tip.donor_name} → {tip.streamer_name}"[:100]


def payout_choice_name(request: PayoutRequest, locale: str = i18n.DEFAULT) -> str:
    return t(
        locale,
        "#%(id)s · %(amount)s to %(name)s",
        id=str(request.id),
        amount=i18n.Credits(request.amount),
        name=request.member_name,
    )[:100]


def _matches(typed: str, number: int, *names: str) -> bool:
    """What a moderator types: the number's start, or part of a name."""
    typed = typed.strip().lstrip("#").casefold()
    return not typed or str(number).startswith(typed) or any(typed in n.casefold() for n in names)


async def tip_choices(interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
    """The newest tips not refunded yet, so a number comes with who sent what to whom."""
    tips = await interaction.client.services.tips.refundable(limit=100)
    found = [tip for tip in tips if _matches(current, tip.id, tip.donor_name, tip.streamer_name)]
    locale = locale_of(interaction)
    return [app_commands.Choice(name=tip_choice_name(tip, locale), value=tip.id) for tip in found][
        :CHOICES_SHOWN
    ]


async def payout_choices(interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Open payout requests, so a number comes with its member and amount."""
    pending = await interaction.client.services.payouts.pending(limit=100)
    found = [r for r in pending if _matches(current, r.id, r.member_name)]
    locale = locale_of(interaction)
    return [app_commands.Choice(name=payout_choice_name(r, locale), value=r.id) for r in found][
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
            N_(
                "Granted **%(amount)s** to %(member)s (transaction #%(id)s). Their balance: %(balance)s."
            )
            if grant
            else N_(
                "Took back **%(amount)s** from %(member)s (transaction #%(id)s). "
                "Their balance: %(balance)s."
            )
        )
        await interaction.followup.send(
            tr(
                interaction,
                done,
                amount=i18n.Credits(amount),
                member=member.mention,
                id=str(posted.transaction_id),
                balance=i18n.Credits(balance),
            ),
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
            tr(
                interaction,
                "Tip #%(id)s (%(amount)s from %(name)s) is refunded.",
                id=str(refunded.id),
                amount=i18n.Credits(refunded.amount),
                name=discord.utils.escape_markdown(refunded.donor_name),
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="payouts")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def payouts(self, interaction: Interaction) -> None:
        """Open payout requests, oldest first."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        pending = await self.services.payouts.pending()
        locale = locale_of(interaction)
        embed = discord.Embed(title=t(locale, "Open payout requests"), colour=GOLIVE_PURPLE)
        embed.description = "\n".join(_payout_line(r, locale) for r in pending) or t(
            locale, "None. All settled."
        )
        embed.set_footer(
            text=t(locale, "/credits payout-paid or /credits payout-reject with the number")
        )
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
        server = await self.services.guilds.language(interaction.guild_id)
        told = t(
            server,
            "Your payout request #%(id)s for %(amount)s was paid.",
            id=str(paid.id),
            amount=i18n.Credits(paid.amount),
        )
        if note:
            told += " " + t(server, "Note: %(note)s", note=note)
        await self._tell(paid.member_id, told)
        await interaction.followup.send(
            tr(
                interaction,
                "Payout request #%(id)s (%(amount)s to %(name)s) is marked paid.",
                id=str(paid.id),
                amount=i18n.Credits(paid.amount),
                name=discord.utils.escape_markdown(paid.member_name),
            ),
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
        server = await self.services.guilds.language(interaction.guild_id)
        await self._tell(
            rejected.member_id,
            t(
                server,
                "Your payout request #%(id)s was rejected (%(reason)s); %(amount)s went back to "
                "your wallet.",
                id=str(rejected.id),
                reason=reason,
                amount=i18n.Credits(rejected.amount),
            ),
        )
        await interaction.followup.send(
            tr(
                interaction,
                "Payout request #%(id)s is rejected; %(amount)s went back to the member's wallet.",
                id=str(rejected.id),
                amount=i18n.Credits(rejected.amount),
            ),
            ephemeral=True,
        )

    @app_commands.command(name="audit")
    @app_commands.describe(member="Whose moderator changes to show")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def audit(self, interaction: Interaction, member: discord.User) -> None:
        """Moderator grants, revokes and refunds for a member, with who did them."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        trail = await self.services.ledger.audit_trail(member.id)
        locale = locale_of(interaction)
        embed = discord.Embed(
            title=t(locale, "Credit changes by moderators for %(name)s", name=member.display_name),
            colour=GOLIVE_PURPLE,
        )
        embed.description = "\n".join(
            t(
                locale,
                "%(line)s · by %(moderator)s",
                line=wallet_line(line, locale),
                moderator=_mention(moderator),
            )
            for line, moderator in trail
        ) or t(locale, "None.")
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _tell(self, user_id: int, text: str) -> None:
        """A DM to the member about their payout; closed DMs are fine (`/wallet` shows it).

        Discord tells a bot a member's language only when they use it, so a DM is written in
        the server's language (`/setup language`), the one its members read in common.
        """
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            await user.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            log.info("could not DM %s about their payout: %s", user_id, error)


def _mention(user_id: int) -> str:
    return f"<@{user_id}>"


def _payout_line(request: PayoutRequest, locale: str) -> str:
    when = discord.utils.format_dt(request.requested_at, "R")
    name = discord.utils.escape_markdown(request.member_name)
    amount = i18n.credits_in(locale, request.amount)
    return f"**#{request.id}** · {name} (<@{request.member_id}>) · {amount} · {when}"


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Credits(bot, bot.services))

"""/tip a streamer, /tips top leaderboards, and the Tip button on announcements and the form it
opens (both survive a restart). The streamer's DM about a tip: bot/money_notices.py."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.custom_ids import TIP_TEMPLATE, tip_button
from bot.embeds import GOLIVE_PURPLE, NO_MENTIONS
from bot.i18n import locale_of, tr
from bot.members import identity_of
from bot.ui import GoLiveDynamicItem, GoLiveModal
from core.kernel import i18n
from core.kernel.errors import InvalidInput
from core.kernel.i18n import N_, Credits, t, tn
from core.money import Standing, TipOutcome
from core.services import Services

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["GoLiveBot"]
TITLES = {
    ("week", True): N_("Top tippers of %(name)s, this week"),
    ("all", True): N_("Top tippers of %(name)s, all time"),
    ("week", False): N_("Tips, this week"),
    ("all", False): N_("Tips, all time"),
}


def parse_credits(text: str) -> int:
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned.isdigit():
        raise InvalidInput("The amount must be a whole number of credits, like 50.")
    return int(cleaned)


def tip_sent_text(outcome: TipOutcome, locale: str = i18n.DEFAULT) -> str:
    """What the donor is told, privately, after a tip (or after a retry of one)."""
    text = (
        N_(
            "That tip was already sent: **%(amount)s** to **%(name)s**. Your balance is now %(balance)s."
        )
        if outcome.replayed
        else N_("Thank you: **%(amount)s** to **%(name)s**. Your balance is now %(balance)s.")
    )
    return t(
        locale,
        text,
        amount=Credits(outcome.tip.amount),
        name=outcome.stream.owner_name,
        balance=Credits(outcome.donor_balance),
    )


class TipModal(GoLiveModal):
    """Amount and message for a tip from an announcement's Tip button, in the clicker's language."""

    def __init__(
        self,
        stream_id: int,
        streamer_name: str,
        request_key: str,
        limit: int,
        locale: str = i18n.DEFAULT,
    ) -> None:
        super().__init__(title=t(locale, "Tip %(name)s", name=streamer_name)[:45])
        self.amount_input: discord.ui.TextInput[TipModal] = discord.ui.TextInput(
            label=t(locale, "Credits"), placeholder="50", max_length=9, custom_id="tip:amount"
        )
        self.message_input: discord.ui.TextInput[TipModal] = discord.ui.TextInput(
            label=t(locale, "Message (optional)"),
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=500,
            placeholder=t(locale, "Shown to the streamer and on stream. Links are removed."),
            custom_id="tip:message",
        )
        self.add_item(self.amount_input)
        self.add_item(self.message_input)
        self.stream_id = stream_id
        # The click that opened this form names the tip: submitting it twice tips once.
        self.request_key = request_key
        self.with_message = limit > 0
        if self.with_message:
            self.message_input.max_length = limit
        else:  # this community turned tip messages off (tips.message_max = 0)
            self.remove_item(self.message_input)

    async def on_submit(self, interaction: discord.Interaction[GoLiveBot]) -> None:  # type: ignore[override]
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await interaction.client.services.tips.tip_stream(
            identity_of(interaction.user),
            self.stream_id,
            parse_credits(self.amount_input.value),
            self.message_input.value if self.with_message else "",
            self.request_key,
        )
        await interaction.followup.send(
            tip_sent_text(outcome, locale_of(interaction)),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


class TipButton(GoLiveDynamicItem[discord.ui.Button[discord.ui.View]], template=TIP_TEMPLATE):
    """On an announcement: opens a form to tip the streamer from the clicker's wallet."""

    def __init__(self, stream_id: int) -> None:
        super().__init__(tip_button(stream_id))
        self.stream_id = stream_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> TipButton:
        return cls(int(match["stream_id"]))

    async def clicked(self, interaction: discord.Interaction[GoLiveBot]) -> None:
        services = interaction.client.services
        stream = await services.streams.get_by_id(self.stream_id)
        if stream.owner_id == interaction.user.id:
            await interaction.response.send_message(
                tr(interaction, "This is your own stream: you can't tip yourself."), ephemeral=True
            )
            return
        await interaction.response.send_modal(
            TipModal(
                stream.id,
                stream.owner_name,
                f"discord:{interaction.id}",
                services.tips.policy.message_max,
                locale_of(interaction),
            )
        )


class Tips(commands.Cog):
    """Tipping streamers with credits."""

    tips_group = app_commands.Group(name="tips", description="Tip leaderboards.")

    def __init__(self, bot: GoLiveBot, services: Services) -> None:
        self.bot = bot
        self.services = services

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(TipButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(TipButton)

    @app_commands.command(name="tip")
    @app_commands.describe(
        member="The streamer to tip",
        amount="How many credits to give",
        message="A short message shown to the streamer and on stream (links are removed)",
    )
    async def tip(
        self,
        interaction: Interaction,
        member: discord.User,
        amount: app_commands.Range[int, 1, 1_000_000_000],
        message: app_commands.Range[str, 0, 500] = "",
    ) -> None:
        """Tip a streamer from your wallet."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self.services.tips.tip_member(
            identity_of(interaction.user),
            member.id,
            amount,
            message,
            f"discord:{interaction.id}",
        )
        await interaction.followup.send(
            tip_sent_text(outcome, locale_of(interaction)),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @tips_group.command(name="top")
    @app_commands.describe(
        period="This week or all time",
        member="Only tips to this streamer (the whole community if left empty)",
    )
    async def top(
        self,
        interaction: Interaction,
        period: Literal["week", "all"] = "week",
        member: discord.User | None = None,
    ) -> None:
        """Who tipped the most, and who received the most."""
        tips, locale = self.services.tips, locale_of(interaction)
        title = TITLES[(period, member is not None)]
        if member is not None:
            donors = await tips.top_donors(period, member.id)
            embed = discord.Embed(
                title=t(locale, title, name=member.display_name), colour=GOLIVE_PURPLE
            )
            embed.description = _board(donors, locale)
            empty = not donors
        else:
            donors = await tips.top_donors(period)
            streamers = await tips.top_streamers(period)
            embed = discord.Embed(title=t(locale, title), colour=GOLIVE_PURPLE)
            embed.add_field(name=t(locale, "Top tippers"), value=_board(donors, locale))
            embed.add_field(name=t(locale, "Top streamers"), value=_board(streamers, locale))
            empty = not donors and not streamers
        # An empty board tells the channel nothing: only the caller sees it.
        await interaction.response.send_message(
            embed=embed, ephemeral=empty, allowed_mentions=NO_MENTIONS
        )


def _board(standings: list[Standing], locale: str) -> str:
    if not standings:
        return t(locale, "No tips yet.")
    medals = ["🥇", "🥈", "🥉"]
    return "\n".join(
        f"{medals[i] if i < 3 else f'{i + 1}.'} **{discord.utils.escape_markdown(s.name)}** · "
        + tn(
            locale,
            "%(amount)s (%(n)s tip)",
            "%(amount)s (%(n)s tips)",
            s.count,
            amount=Credits(s.total),
        )
        for i, s in enumerate(standings)
    )


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Tips(bot, bot.services))

"""The Tip button on announcements and the form it opens; both survive a restart."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.members import identity_of
from bot.tree import reply_with_error
from core.kernel.errors import InvalidInput
from core.money import TipOutcome, credits_text

if TYPE_CHECKING:
    from bot.app import GoLiveBot

NO_MENTIONS = discord.AllowedMentions.none()


def parse_credits(text: str) -> int:
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned.isdigit():
        raise InvalidInput("The amount must be a whole number of credits, like 50.")
    return int(cleaned)


def tip_sent_text(outcome: TipOutcome) -> str:
    """What the donor is told, privately, after a tip (or after a retry of one)."""
    prefix = "That tip was already sent" if outcome.replayed else "Thank you"
    return (
        f"{prefix}: **{credits_text(outcome.tip.amount)}** to **{outcome.stream.owner_name}**. "
        f"Your balance is now {credits_text(outcome.donor_balance)}."
    )


class TipModal(discord.ui.Modal):
    """Amount and message for a tip from an announcement's Tip button."""

    amount_input: discord.ui.TextInput[TipModal] = discord.ui.TextInput(
        label="Credits", placeholder="50", max_length=9, custom_id="tip:amount"
    )
    message_input: discord.ui.TextInput[TipModal] = discord.ui.TextInput(
        label="Message (optional)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=500,
        placeholder="Shown to the streamer and on stream. Links are removed.",
        custom_id="tip:message",
    )

    def __init__(self, stream_id: int, streamer_name: str, request_key: str, limit: int) -> None:
        super().__init__(title=f"Tip {streamer_name}"[:45])
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
            tip_sent_text(outcome), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def on_error(self, interaction: discord.Interaction[GoLiveBot], error: Exception) -> None:  # type: ignore[override]
        await reply_with_error(interaction, error)


class TipButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"golive:tip:(?P<stream_id>\d+)",
):
    """On an announcement: opens a form to tip the streamer from the clicker's wallet."""

    def __init__(self, stream_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Tip",
                emoji="💸",
                style=discord.ButtonStyle.secondary,
                custom_id=f"golive:tip:{stream_id}",
            )
        )
        self.stream_id = stream_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> TipButton:
        return cls(int(match["stream_id"]))

    async def callback(self, interaction: discord.Interaction[GoLiveBot]) -> None:  # type: ignore[override]
        try:
            services = interaction.client.services
            stream = await services.streams.get_by_id(self.stream_id)
            if stream.owner_id == interaction.user.id:
                await interaction.response.send_message(
                    "This is your own stream: you can't tip yourself.", ephemeral=True
                )
                return
            await interaction.response.send_modal(
                TipModal(
                    stream.id,
                    stream.owner_name,
                    f"discord:{interaction.id}",
                    services.tips.policy.message_max,
                )
            )
        except Exception as error:
            await reply_with_error(interaction, error)

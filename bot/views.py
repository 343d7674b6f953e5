"""Buttons that keep working after a restart: their state lives in the custom_id."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.members import identity_of
from bot.tip_views import TipButton
from bot.tree import reply_with_error

if TYPE_CHECKING:
    from bot.app import GoLiveBot


def link_view(label: str, url: str, emoji: str | None = None) -> discord.ui.View:
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label=label, url=url, emoji=emoji))
    return view


class WatchButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"golive:watch:(?P<stream_id>\d+)",
):
    """On an announcement: hands the clicker a personal link that signs them in and opens the stream.

    Signing in lets viewers chat and tip as themselves; the plain link beside it works without.
    """

    def __init__(self, stream_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Watch",
                emoji="▶️",
                style=discord.ButtonStyle.primary,
                custom_id=f"golive:watch:{stream_id}",
            )
        )
        self.stream_id = stream_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> WatchButton:
        return cls(int(match["stream_id"]))

    async def callback(self, interaction: discord.Interaction[GoLiveBot]) -> None:  # type: ignore[override]
        # Component errors bypass the command tree's handler; route them to the same explanation.
        try:
            await self._open_stream(interaction)
        except Exception as error:
            await reply_with_error(interaction, error)

    async def _open_stream(self, interaction: discord.Interaction[GoLiveBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = interaction.client
        stream = await bot.services.streams.get_by_id(self.stream_id)
        link = await bot.services.auth.create_login_link(
            identity_of(interaction.user), f"/live/{stream.slug}"
        )
        status = "is live now" if stream.active else "is offline right now"
        await interaction.followup.send(
            f"**{stream.owner_name}** {status}. This link signs you in as yourself and opens the "
            f"stream; it works once, for {int(link.expires_in.total_seconds() // 60)} minutes.",
            view=link_view("Open the stream", link.url, "▶️"),
            ephemeral=True,
        )


def announcement_view(stream_id: int, watch_url: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(WatchButton(stream_id))
    view.add_item(TipButton(stream_id))
    view.add_item(discord.ui.Button(label="Open in browser", url=watch_url))
    return view

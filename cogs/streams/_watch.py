"""The Watch button, on announcements and under search results: it hands the clicker a personal
link that signs them in and opens the stream. It keeps working after a restart: the stream id
lives in its custom_id (bot/custom_ids.py, shared with the announcer that posts it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.custom_ids import WATCH_TEMPLATE, watch_button
from bot.members import identity_of
from bot.ui import GoLiveDynamicItem, link_view

if TYPE_CHECKING:
    from bot.app import GoLiveBot


class WatchButton(GoLiveDynamicItem[discord.ui.Button[discord.ui.View]], template=WATCH_TEMPLATE):
    """Signing in lets viewers chat and tip as themselves; the plain link beside it works without."""

    def __init__(self, stream_id: int) -> None:
        super().__init__(watch_button(stream_id))
        self.stream_id = stream_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> WatchButton:
        return cls(int(match["stream_id"]))

    async def clicked(self, interaction: discord.Interaction[GoLiveBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        services = interaction.client.services
        stream = await services.streams.get_by_id(self.stream_id)
        link = await services.auth.create_login_link(
            identity_of(interaction.user), f"/live/{stream.slug}"
        )
        status = "is live now" if stream.active else "is offline right now"
        await interaction.followup.send(
            f"**{stream.owner_name}** {status}. This link signs you in as yourself and opens the "
            f"stream; it works once, for {int(link.expires_in.total_seconds() // 60)} minutes.",
            view=link_view("Open the stream", link.url, "▶️"),
            ephemeral=True,
        )

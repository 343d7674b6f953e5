"""The Watch button, on announcements and under search results: it hands the clicker a personal
link that signs them in and opens the stream. It keeps working after a restart: the stream id
lives in its custom_id (bot/custom_ids.py, shared with the announcer that posts it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.custom_ids import WATCH_TEMPLATE, watch_button
from bot.i18n import tr
from bot.members import identity_of
from bot.ui import GoLiveDynamicItem, link_view
from core.kernel.i18n import N_

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
        text = (
            N_(
                "**%(name)s** is live now. This link signs you in as yourself and opens the "
                "stream; it works once, for %(minutes)s minutes."
            )
            if stream.active
            else N_(
                "**%(name)s** is offline right now. This link signs you in as yourself and opens "
                "the stream; it works once, for %(minutes)s minutes."
            )
        )
        await interaction.followup.send(
            tr(
                interaction,
                text,
                name=stream.owner_name,
                minutes=int(link.expires_in.total_seconds() // 60),
            ),
            view=link_view(tr(interaction, "Open the stream"), link.url, "▶️"),
            ephemeral=True,
        )

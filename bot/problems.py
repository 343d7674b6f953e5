"""Problems in a guild that only its admin can fix (a permission lost after setup, say).

Told once: remembered for `golive check`, and sent by DM to whoever set golive up there.
"""

from __future__ import annotations

import logging

import discord

from bot.embeds import NO_MENTIONS
from core.community import CommunityService

log = logging.getLogger(__name__)


class AdminProblems:
    def __init__(self, client: discord.Client, community: CommunityService) -> None:
        self._client = client
        self._community = community

    async def report(self, guild: discord.Guild, what: str, detail: str) -> None:
        """Remember a problem for `golive check` and tell whoever set golive up here, once."""
        if not await self._community.report_problem(guild.id, what, detail):
            return
        admin_id = (await self._community.roles(guild.id)).configured_by
        if admin_id is None:
            return
        try:
            admin = self._client.get_user(admin_id) or await self._client.fetch_user(admin_id)
            await admin.send(
                f"golive has a problem in **{guild.name}**: {detail}", allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as error:
            log.warning("could not tell the admin of %s about %s: %s", guild.id, what, error)

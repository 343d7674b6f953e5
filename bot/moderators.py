"""Who moderates: Manage Server, Moderate Members, or the guild's configured moderator role.

The web sees member ids, not Discord permissions, so every time the bot sees a member act it
writes down whether they are a moderator (only when that changed since it last looked).
"""

from __future__ import annotations

from typing import Any

import discord

from core.kernel.errors import Forbidden
from core.kernel.i18n import N_
from core.moderation import ModerationService

NOT_A_MODERATOR = N_(
    "Only moderators can do this (Manage Server, Moderate Members, or the moderator role)."
)


class ModeratorRegistry:
    def __init__(self, moderation: ModerationService) -> None:
        self._moderation = moderation
        self._known: dict[tuple[int, int], bool] = {}

    async def is_moderator(self, member: discord.Member) -> bool:
        permissions = member.guild_permissions
        status = permissions.manage_guild or permissions.moderate_members
        if not status:
            role_id = await self._moderation.moderator_role(member.guild.id)
            status = role_id is not None and any(role.id == role_id for role in member.roles)
        key = (member.guild.id, member.id)
        if self._known.get(key) != status:
            await self._moderation.remember_moderator(member.id, member.guild.id, status)
            self._known[key] = status
        return status

    async def require(self, interaction: discord.Interaction[Any]) -> discord.Member:
        """The acting member, if they moderate this guild; Forbidden otherwise."""
        member = interaction.user
        if not isinstance(member, discord.Member) or not await self.is_moderator(member):
            raise Forbidden(NOT_A_MODERATOR)
        return member

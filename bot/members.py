"""Discord members as golive's domain sees them."""

from __future__ import annotations

import discord

from core.accounts import Identity


def identity_of(user: discord.User | discord.Member) -> Identity:
    return Identity(user_id=user.id, username=user.name, display_name=user.display_name)

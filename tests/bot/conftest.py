"""The bot under SimCord: the real discord.py against an in-memory Discord, with real services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import discord
import pytest_asyncio

from bot.app import GoLiveBot
from core.services import Services


@pytest_asyncio.fixture
async def make_bot(services: Services) -> AsyncIterator[Callable[[], GoLiveBot]]:
    """Builds bots on the same services; a second one stands for the process after a restart."""
    bots: list[GoLiveBot] = []

    def factory() -> GoLiveBot:
        bot = GoLiveBot(services)
        bots.append(bot)
        return bot

    yield factory
    for bot in bots:
        await bot.close()


@pytest_asyncio.fixture
async def simcord_bot(make_bot: Callable[[], GoLiveBot]) -> GoLiveBot:
    return make_bot()


@dataclass
class World:
    """A guild as a community has it: a general channel, an announcements channel, members."""

    env: Any
    guild: Any
    general: Any
    announcements: Any
    alice: Any
    bob: Any
    admin: Any


@pytest_asyncio.fixture
async def world(simcord_env: Any) -> World:
    # Operators sync on purpose (`golive sync-commands`); the test does it once, as they would.
    await simcord_env.bot.tree.sync()
    guild = simcord_env.create_guild(name="Painters")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return World(
        env=simcord_env,
        guild=guild,
        general=guild.create_text_channel("general"),
        announcements=guild.create_text_channel("announcements"),
        alice=guild.add_member(simcord_env.create_user("alice", global_name="Alice")),
        bob=guild.add_member(simcord_env.create_user("bob")),
        admin=guild.add_member(simcord_env.create_user("admin"), roles=[admins]),
    )

"""GoLiveBot: the discord.py client, wired to golive's services.

The bot builds the Discord consumers of golive's events (announcer, chat bridge, live alerts,
OBS problems) and hands each what it needs; every feature's commands, views and persistent
buttons come from its extension in cogs/, which registers them itself.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.announcer import Announcer
from bot.chat_bridge import ChatBridge
from bot.live_alerts import LiveAlerts
from bot.moderators import ModeratorRegistry
from bot.obs_problems import ObsProblemNotifier
from bot.problems import AdminProblems
from bot.tree import GoLiveTree
from core.services import Services

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.streams",
    "cogs.setup",
    "cogs.tips",
    "cogs.wallet",
    "cogs.credits",
    "cogs.follows",
    "cogs.stats",
    "cogs.chat",
    "cogs.moderation",
    "cogs.vods",
)


def golive_intents() -> discord.Intents:
    intents = discord.Intents.default()
    # Privileged: read what members write in stream chat threads (enable it in the Developer
    # Portal, Bot → Privileged Gateway Intents → Message Content).
    intents.message_content = True
    return intents


class GoLiveBot(commands.Bot):
    def __init__(self, services: Services) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=golive_intents(),
            tree_cls=GoLiveTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.services = services
        problems = AdminProblems(self, services.community)
        self.chat_bridge = ChatBridge(self, services)
        self.announcer = Announcer(self, services, self.chat_bridge, problems)
        self.moderators = ModeratorRegistry(services.moderation)
        self.live_alerts = LiveAlerts(self, services, self.announcer, problems)
        self.obs_problems = ObsProblemNotifier(self)

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.services.streams.subscribe(self.announcer.on_stream_event)
        self.services.streams.subscribe(self.chat_bridge.on_stream_event)
        self.services.chat.subscribe(self.chat_bridge.on_chat_event)
        self.services.streams.subscribe(self.live_alerts.on_stream_event)
        self.services.ingress.subscribe_problems(self.obs_problems.on_problem)
        self.live_alerts.start_ticking()

    async def close(self) -> None:
        self.services.streams.unsubscribe(self.announcer.on_stream_event)
        self.services.streams.unsubscribe(self.chat_bridge.on_stream_event)
        self.services.chat.unsubscribe(self.chat_bridge.on_chat_event)
        self.services.streams.unsubscribe(self.live_alerts.on_stream_event)
        self.services.ingress.unsubscribe_problems(self.obs_problems.on_problem)
        await self.live_alerts.stop_ticking()
        await super().close()

    def watch_url(self, slug: str) -> str:
        return self.announcer.watch_url(slug)

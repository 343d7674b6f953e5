"""GoLiveBot: the discord.py client, wired to golive's services."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.announcer import Announcer
from bot.chat_bridge import ChatBridge
from bot.live_alerts import LiveAlerts
from bot.moderators import ModeratorRegistry
from bot.money_notices import MoneyNotices
from bot.obs_embeds import ObsProblemNotifier
from bot.report_views import ReportButton
from bot.search_views import SearchPageButton
from bot.tip_views import TipButton
from bot.tree import GoLiveTree
from bot.views import WatchButton
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
        self.announcer = Announcer(self)
        self.chat_bridge = ChatBridge(self)
        self.moderators = ModeratorRegistry(self)
        self.live_alerts = LiveAlerts(self)
        self.obs_problems = ObsProblemNotifier(self)
        self.money_notices = MoneyNotices(self)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(WatchButton, TipButton, SearchPageButton)
        self.add_dynamic_items(ReportButton)
        for extension in EXTENSIONS:
            await self.load_extension(extension)

    async def close(self) -> None:
        await super().close()

    def watch_url(self, slug: str) -> str:
        return self.announcer.watch_url(slug)

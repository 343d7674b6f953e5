"""GoLiveBot: the discord.py client, wired to golive's services.

The bot builds the Discord consumers of golive's events (announcer, chat bridge, live alerts,
stream problems, money DMs) and hands each what it needs (golive/event_table.py says which
events reach them); every feature's commands, views and persistent
buttons come from its extension in cogs/, which registers them itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import discord
from discord.ext import commands

from bot.announcer import Announcer
from bot.chat_bridge import ChatBridge
from bot.delivery import observe_retries
from bot.i18n import GoLiveTranslator
from bot.live_alerts import LiveAlerts
from bot.moderators import ModeratorRegistry
from bot.money_notices import MoneyNotices
from bot.observe import DiscordObserver, observe_requests
from bot.problems import AdminProblems
from bot.stream_problems import StreamProblemNotifier
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
    def __init__(self, services: Services, observer: DiscordObserver | None = None) -> None:
        """`observer` (GET /metrics) is told of every REST call and every delivery retried."""
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=golive_intents(),
            tree_cls=GoLiveTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.services = services
        problems = AdminProblems(self, services.community, services.guilds)
        self.chat_bridge = ChatBridge(self, services)
        self.announcer = Announcer(self, services, self.chat_bridge, problems)
        self.moderators = ModeratorRegistry(services.moderation)
        self.live_alerts = LiveAlerts(self, services, self.announcer, problems)
        self.stream_problems = StreamProblemNotifier(self, services.guilds)
        self.money_notices = MoneyNotices(self, services)
        self._observer = observer
        self._stop_observing: Callable[[], None] | None = None

    async def setup_hook(self) -> None:
        if self._observer is not None and self._stop_observing is None:
            # Here, not in __init__: `self.http` is final once logging in has begun.
            observe_requests(self.http, self._observer)
            self._stop_observing = observe_retries(self._observer.delivery_retried)
        await self.tree.set_translator(GoLiveTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)

    async def close(self) -> None:
        if self._stop_observing is not None:
            self._stop_observing()
            self._stop_observing = None
        await super().close()

    def watch_url(self, slug: str) -> str:
        return self.announcer.watch_url(slug)

"""The Discord half of the chat: a thread per announcement, and copies of web messages in it.

When a stream goes live, each announcement gets a thread. Messages written on the watch page are
posted into the session's threads through a channel webhook carrying the viewer's name (or, when
the bot lacks Manage Webhooks, by the bot as "**name**: text"). Messages written in a thread go
the other way through `cogs/chat.py`. Hidden messages are deleted from the threads; when the
stream ends the threads are closed.

Posting to Discord never holds up the web request: the events come through the outbox, from
whichever process stored the message (Discord rate limits webhooks to a few messages a second
per channel; discord.py waits those out). A delivery can come twice (a process died before
marking it done), so each copy into a thread, and each thread's closing, is claimed first
(`claim_effect`): never posted twice. A copy Discord refused for a moment is given back and
tried again with the delivery.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from typing import Any

import discord

from bot.delivery import is_transient
from bot.embeds import NO_MENTIONS
from core.chat import ChatEvent, ChatMessage, ChatThread
from core.kernel.i18n import DEFAULT, t
from core.services import Services
from core.store import claim_effect, release_effect
from core.streams import StreamEvent

log = logging.getLogger(__name__)

WEBHOOK_NAME = "golive chat"
# Discord refuses these in webhook usernames.
_FORBIDDEN_IN_NAMES = re.compile(r"(?i)discord|clyde|[@#:]|```")


def webhook_username(message: ChatMessage, locale: str = DEFAULT) -> str:
    name = _FORBIDDEN_IN_NAMES.sub("", message.author_name).strip() or t(locale, "viewer")
    suffix = " " + t(locale, "(guest)") if message.author_role == "guest" else ""
    return f"{name[: 80 - len(suffix)]}{suffix}"


class ChatBridge:
    def __init__(self, client: discord.Client, services: Services) -> None:
        self._client = client
        self._services = services
        # channel id -> its webhook, or None when we may not manage webhooks there.
        self._webhooks: dict[int, discord.Webhook | None] = {}

    # -- threads -------------------------------------------------------------------------------

    async def open_thread(self, announcement: discord.Message, event: StreamEvent) -> None:
        """Open the chat thread on a fresh announcement. A failure leaves the page chat working."""
        if announcement.guild is None:
            return
        # The thread is the server's: its name and notices speak the server's language.
        locale = await self._services.guilds.language(announcement.guild.id)
        try:
            thread = await announcement.create_thread(
                name=t(locale, "💬 %(name)s — live chat", name=event.stream.owner_name)[:100],
                auto_archive_duration=1440,
            )
        except discord.HTTPException as error:
            log.warning(
                "could not open a chat thread for %s in channel %s: %s",
                event.stream.slug,
                announcement.channel.id,
                error,
            )
            return
        await self._services.chat.record_thread(
            thread_id=thread.id,
            session_id=event.session.id,
            stream_id=event.stream.id,
            guild_id=announcement.guild.id,
            channel_id=announcement.channel.id,
        )

    async def on_stream_event(self, event: StreamEvent) -> None:
        """Close a session's threads when its stream ends."""
        if event.kind != "ended":
            return
        for record in await self._services.chat.threads_for_session(event.session.id):
            thread = await self._thread(record)
            if thread is None or not await self._claim(f"thread-closed:{record.thread_id}"):
                continue
            locale = await self._services.guilds.language(record.guild_id)
            try:
                await thread.send(
                    t(locale, "The stream has ended, so this chat is closed. Thanks for watching!"),
                    allowed_mentions=NO_MENTIONS,
                )
                await thread.edit(archived=True, locked=True)
            except discord.HTTPException as error:
                log.warning("could not close chat thread %s: %s", record.thread_id, error)

    # -- web → Discord -------------------------------------------------------------------------

    async def on_chat_event(self, event: ChatEvent) -> None:
        """On ChatMessagePosted / ChatMessageHidden: copy new page messages into the threads, delete hidden ones."""
        if event.message.session_id is None:
            return
        threads = await self._services.chat.threads_for_session(event.message.session_id)
        work: list[Coroutine[Any, Any, None]] = []
        for record in threads:
            if event.kind == "message" and record.thread_id != event.origin_thread_id:
                work.append(self._copy_once(record, event.message))
            elif event.kind == "hidden" and event.message.discord_message_id is not None:
                work.append(self._delete_from(record, event.message.discord_message_id))
        # The threads at once; the delivery is done when they are (a transient failure raises:
        # the outbox tries again, and the copies already made are not made again).
        failures = [
            outcome
            for outcome in await asyncio.gather(*work, return_exceptions=True)
            if isinstance(outcome, BaseException)
        ]
        if failures:
            raise failures[0]

    async def drain(self) -> None:
        """Wait for the copies in flight and due (tests): this process's outbox deliveries."""
        await self._services.outbox.drain()

    async def _claim(self, key: str) -> bool:
        return await claim_effect(self._services.db, key, at=self._services.clock.now())

    async def _copy_once(self, record: ChatThread, message: ChatMessage) -> None:
        key = f"chat-copy:{message.id}:{record.thread_id}"
        if not await self._claim(key):
            return  # copied already (this is a redelivery)
        try:
            await self._copy_into(record, message)
        except discord.HTTPException:
            await release_effect(self._services.db, key)
            raise

    async def _copy_into(self, record: ChatThread, message: ChatMessage) -> None:
        thread = await self._thread(record)
        if thread is None:
            return
        try:
            posted = await self._post(record, thread, message)
        except discord.HTTPException as error:
            if is_transient(error):
                raise  # given back, and tried again with the delivery
            log.warning("could not copy chat message %s to Discord: %s", message.id, error)
            return
        if message.discord_message_id is None:
            await self._services.chat.set_discord_message_id(message.id, posted.id)

    async def _post(
        self, record: ChatThread, thread: discord.Thread, message: ChatMessage
    ) -> discord.Message:
        webhook = await self._webhook(record.channel_id)
        if webhook is not None:
            # Only a guest's name carries words ("(guest)"): members' copies skip the lookup.
            guest = message.author_role == "guest"
            locale = await self._services.guilds.language(record.guild_id) if guest else DEFAULT
            try:
                return await webhook.send(
                    message.body,
                    username=webhook_username(message, locale),
                    thread=thread,
                    allowed_mentions=NO_MENTIONS,
                    wait=True,
                )
            except discord.NotFound:
                # Someone deleted the webhook: make a new one next time, post as the bot now.
                self._webhooks.pop(record.channel_id, None)
        name = discord.utils.escape_markdown(message.author_name)
        return await thread.send(f"**{name}**: {message.body}", allowed_mentions=NO_MENTIONS)

    async def _webhook(self, channel_id: int) -> discord.Webhook | None:
        if channel_id in self._webhooks:
            return self._webhooks[channel_id]
        channel = self._client.get_channel(channel_id)
        webhook: discord.Webhook | None = None
        if isinstance(channel, discord.TextChannel):
            try:
                webhook = next(
                    (
                        hook
                        for hook in await channel.webhooks()
                        if hook.name == WEBHOOK_NAME
                        and hook.token
                        and hook.user is not None
                        and self._client.user is not None
                        and hook.user.id == self._client.user.id
                    ),
                    None,
                ) or await channel.create_webhook(name=WEBHOOK_NAME, reason="golive live chat")
            except discord.Forbidden:
                log.info(
                    "no Manage Webhooks in channel %s: chat copies are posted by the bot",
                    channel_id,
                )
        self._webhooks[channel_id] = webhook
        return webhook

    async def _delete_from(self, record: ChatThread, discord_message_id: int) -> None:
        thread = await self._thread(record)
        if thread is None:
            return
        webhook = self._webhooks.get(record.channel_id)
        try:
            if webhook is not None:
                # Our webhook's copies: the webhook may delete them without Manage Messages.
                try:
                    await webhook.delete_message(discord_message_id, thread=thread)
                    return
                except discord.NotFound:
                    pass  # not one of its messages: written in Discord by a member
            await thread.get_partial_message(discord_message_id).delete()
        except discord.NotFound:
            pass  # not in this thread, or gone already
        except discord.HTTPException as error:
            log.warning("could not delete hidden message %s: %s", discord_message_id, error)

    async def _thread(self, record: ChatThread) -> discord.Thread | None:
        """The thread, if this process is the one to act in it: a thread in a guild of another
        bot process's shards is that process's to copy into and close (REST would reach it from
        here too, and each copy would then be posted twice)."""
        if not self._services.settings.discord.owns_guild(record.guild_id):
            return None
        channel = self._client.get_channel(record.thread_id)
        if channel is None:
            try:
                channel = await self._client.fetch_channel(record.thread_id)
            except discord.HTTPException:
                return None
        return channel if isinstance(channel, discord.Thread) else None

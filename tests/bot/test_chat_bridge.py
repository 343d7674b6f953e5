"""The chat bridge both ways: the announcement's thread ↔ the watch page (via the LiveKit room).

SimCord note: it stores a webhook message sent with `thread=` in the webhook's parent channel
(it ignores the `thread_id` query parameter), so the copies are asserted through the REST call
the bot made (path, thread_id, username, allowed mentions) and found by id, not by thread.
"""

from __future__ import annotations

import json
from typing import Any

from core.chat.service import ChatAuthor
from core.services import Services
from core.streams import Stream
from tests.bot.helpers import create_page, on_air
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


def chat_packets(livekit: FakeLiveKit) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for sent in livekit.sent_data:
        assert sent.topic == "chat"
        events.extend(json.loads(sent.text)["events"])
    return events


async def go_live_with_thread(world: World, services: Services) -> tuple[Stream, Any]:
    await world.admin.slash(world.general, "setup announce-channel", channel=world.announcements)
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    [thread] = world.announcements.threads
    return await services.streams.get_by_owner(world.alice.id), thread


async def copy_to_discord(world: World, services: Services, stream: Stream, text: str) -> int:
    """A viewer writes on the watch page; returns the stored message id once Discord has it."""
    message = await services.chat.post(stream, ChatAuthor(4242, "Web Viewer"), text)
    await services.events.drain()
    await world.env.bot.chat_bridge.drain()
    await world.env.settle()
    return message.id


def webhook_posts(world: World) -> list[Any]:
    return [
        r
        for r in world.env.http_requests
        if r.method == "POST" and r.path.startswith("/webhooks/") and "thread_id" in r.params
    ]


async def test_going_live_opens_a_chat_thread_on_the_announcement(
    world: World, services: Services
) -> None:
    stream, thread = await go_live_with_thread(world, services)
    assert thread.is_thread and "Alice — live chat" in thread.name
    session = await services.streams.current_session(stream.id)
    assert session is not None
    [record] = await services.chat.threads_for_session(session.id)
    assert (record.thread_id, record.channel_id) == (thread.id, world.announcements.id)


async def test_a_thread_message_reaches_the_page_through_the_room(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    stream, thread = await go_live_with_thread(world, services)
    await world.bob.send(thread, "hello from Discord")
    [event] = chat_packets(livekit)
    assert event["message"]["text"] == "hello from Discord"
    assert event["message"]["source"] == "discord"
    assert event["message"]["author"]["name"] == "bob"
    assert livekit.sent_data[0].room == stream.room_name
    assert [m.body for m in await services.chat.history(stream)] == ["hello from Discord"]
    assert webhook_posts(world) == []  # not echoed back into the thread it came from


async def test_the_streamer_and_moderators_get_badges_from_discord(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    _, thread = await go_live_with_thread(world, services)
    await world.alice.send(thread, "thanks for coming")
    await world.admin.send(thread, "keep it friendly")
    roles = [event["message"]["author"]["role"] for event in chat_packets(livekit)]
    assert roles == ["streamer", "moderator"]


async def test_a_page_message_is_posted_in_the_thread_with_the_viewers_name(
    world: World, services: Services
) -> None:
    stream, thread = await go_live_with_thread(world, services)
    message_id = await copy_to_discord(world, services, stream, "hi @everyone from the web")
    [call] = webhook_posts(world)
    assert call.params["thread_id"] == thread.id
    assert call.json["username"] == "Web Viewer"
    assert call.json["content"] == "hi @everyone from the web"
    assert call.json["allowed_mentions"]["parse"] == []
    stored = await services.chat.get(message_id)
    assert stored.discord_message_id is not None
    copy = next(m for m in world.announcements.history() if m.id == stored.discord_message_id)
    assert copy.author.name == "Web Viewer" and copy.webhook_id is not None
    # The bot sees its own webhook copy arrive and does not relay it back to the page.
    assert [m.body for m in await services.chat.history(stream)] == ["hi @everyone from the web"]


async def test_without_manage_webhooks_the_bot_posts_the_name_itself(
    world: World, services: Services
) -> None:
    stream, thread = await go_live_with_thread(world, services)
    world.env.inject_error(
        "POST", "/channels/*/webhooks", status=403, code=50013, message="Missing Permissions"
    )
    await copy_to_discord(world, services, stream, "no webhooks here")
    assert thread.last_message.content == "**Web Viewer**: no webhooks here"
    assert thread.last_message.author.id == world.env.bot.user.id


async def test_deleting_a_thread_message_hides_it_on_the_page(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    stream, thread = await go_live_with_thread(world, services)
    posted = await world.bob.send(thread, "oops, wrong chat")
    [event] = chat_packets(livekit)
    await world.bob.delete(posted)
    assert chat_packets(livekit)[-1] == {"type": "hide", "id": event["message"]["id"]}
    assert await services.chat.history(stream) == []


async def test_hiding_on_the_page_deletes_the_copy_in_discord(
    world: World, services: Services
) -> None:
    stream, _ = await go_live_with_thread(world, services)
    message_id = await copy_to_discord(world, services, stream, "something rude")
    copy_id = (await services.chat.get(message_id)).discord_message_id
    await services.chat.hide(message_id, moderator_id=world.admin.id, stream=stream)
    await services.events.drain()
    await world.env.bot.chat_bridge.drain()
    await world.env.settle()
    assert copy_id not in [m.id for m in world.announcements.history()]


async def test_ending_the_stream_closes_the_thread(world: World, services: Services) -> None:
    _, thread = await go_live_with_thread(world, services)
    await world.alice.slash(world.general, "stream end")
    assert "chat is closed" in thread.last_message.content
    patches = [
        r
        for r in world.env.http_requests
        if r.method == "PATCH" and r.path == f"/channels/{thread.id}"
    ]
    assert patches and patches[-1].json.get("archived") is True


async def test_messages_in_a_thread_after_the_stream_ended_stay_in_discord(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    stream, thread = await go_live_with_thread(world, services)
    session = await services.streams.current_session(stream.id)
    assert session is not None
    await services.streams.end(world.alice.id)
    before = len(livekit.sent_data)
    message = await services.chat.post_from_thread(
        thread.id, ChatAuthor(world.bob.id, "bob"), "late", discord_message_id=1
    )
    assert message is None and len(livekit.sent_data) == before


async def test_a_banned_member_writing_in_the_thread_is_not_relayed_and_the_message_goes(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    _, thread = await go_live_with_thread(world, services)
    await services.moderation.ban(
        moderator_id=world.admin.id, user_id=world.bob.id, scope="chat", duration=None
    )
    posted = await world.bob.send(thread, "you can't stop me")
    assert chat_packets(livekit) == []
    assert posted.id not in [m.id for m in thread.history()]


async def test_a_purge_in_the_thread_hides_every_purged_message(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    stream, thread = await go_live_with_thread(world, services)
    first = await world.bob.send(thread, "spam one")
    second = await world.bob.send(thread, "spam two")
    # What a moderation bot's /purge does: one bulk delete.
    channel = world.env.bot.get_channel(thread.id)
    await channel.delete_messages([first, second])
    await world.env.settle()
    assert await services.chat.history(stream) == []
    hides = [event for event in chat_packets(livekit) if event["type"] == "hide"]
    assert len(hides) == 2

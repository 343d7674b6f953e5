"""Chat and moderation in core: the checks, storage and the packets the LiveKit room receives."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from core.chat import ChatMessageHidden, ChatMessagePosted
from core.chat.service import ChatAuthor, ChatEvent
from core.kernel.clock import ManualClock
from core.kernel.errors import Conflict, Forbidden, InvalidInput, RateLimited, TooLarge
from core.kernel.events import inline
from core.services import Services
from core.streams import Stream, StreamDraft
from tests.fakes.livekit import FakeLiveKit

ALICE, BOB, MOD = 1, 2, 3
BOB_AUTHOR = ChatAuthor(BOB, "Bob")


async def live_alice(services: Services) -> Stream:
    await services.streams.create(
        owner_id=ALICE, username="alice", display_name="Alice", draft=StreamDraft("Painting")
    )
    return (await services.streams.go_live(ALICE)).stream


def chat_packets(livekit: FakeLiveKit) -> list[dict[str, Any]]:
    """Every event the room received on the chat topic, in order."""
    events: list[dict[str, Any]] = []
    for sent in livekit.sent_data:
        assert sent.topic == "chat"
        events.extend(json.loads(sent.text)["events"])
    return events


async def stored_bodies(services: Services, stream: Stream) -> list[str]:
    return [message.body for message in await services.chat.history(stream)]


async def test_a_message_is_stored_and_sent_into_the_room(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    message = await services.chat.post(stream, BOB_AUTHOR, "  hello there  ", ip="10.0.0.1")
    assert (message.body, message.author_role) == ("hello there", "member")
    await services.events.drain()
    [event] = chat_packets(livekit)
    assert event["type"] == "message"
    assert event["message"]["text"] == "hello there"
    assert event["message"]["author"] == {"id": str(BOB), "name": "Bob", "role": "member"}
    assert livekit.sent_data[0].room == stream.room_name
    assert await stored_bodies(services, stream) == ["hello there"]


async def test_streamer_and_moderators_get_their_badge(services: Services) -> None:
    stream = await live_alice(services)
    await services.moderation.remember_moderator(MOD, guild_id=9, is_moderator=True)
    mine = await services.chat.post(stream, ChatAuthor(ALICE, "Alice"), "welcome")
    mod = await services.chat.post(stream, ChatAuthor(MOD, "Mo"), "be nice")
    assert (mine.author_role, mod.author_role) == ("streamer", "moderator")


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("   ", InvalidInput, "empty"),
        ("x" * 501, TooLarge, "at most 500"),
        ("bell\x07", InvalidInput, "control characters"),
        ("see https://spam.example", Forbidden, "Links"),
        ("visit spam.com now", Forbidden, "Links"),
    ],
)
async def test_bad_messages_are_refused_and_nothing_is_stored(
    services: Services, livekit: FakeLiveKit, text: str, error: type[Exception], words: str
) -> None:
    stream = await live_alice(services)
    with pytest.raises(error, match=words):
        await services.chat.post(stream, BOB_AUTHOR, text)
    assert await stored_bodies(services, stream) == []
    assert livekit.sent_data == []


async def test_chat_is_closed_while_the_stream_is_offline(services: Services) -> None:
    stream = await live_alice(services)
    await services.streams.end(ALICE)
    offline = await services.streams.get_by_owner(ALICE)
    with pytest.raises(Conflict, match="offline"):
        await services.chat.post(offline, BOB_AUTHOR, "hi")
    assert await stored_bodies(services, stream) == []


async def test_guests_need_the_setting(services: Services) -> None:
    stream = await live_alice(services)
    with pytest.raises(Exception, match="Sign in to chat"):
        await services.chat.post(stream, ChatAuthor(None, "Visitor"), "hi", ip="10.0.0.9")


async def test_a_flood_is_cut_off_per_person_and_refills_with_time(
    services: Services, clock: ManualClock
) -> None:
    stream = await live_alice(services)
    for n in range(5):  # the burst from config.toml
        await services.chat.post(stream, BOB_AUTHOR, f"m{n}", ip="10.0.0.1")
    with pytest.raises(RateLimited, match="too fast"):
        await services.chat.post(stream, BOB_AUTHOR, "one more", ip="10.0.0.1")
    clock.advance(3)  # 20 per minute: one token every 3 s
    await services.chat.post(stream, BOB_AUTHOR, "later", ip="10.0.0.1")
    assert len(await stored_bodies(services, stream)) == 6


async def test_many_people_behind_one_ip_hit_the_ip_limit(services: Services) -> None:
    stream = await live_alice(services)
    for n in range(20):
        await services.chat.post(stream, ChatAuthor(100 + n, f"p{n}"), "hi", ip="10.0.0.7")
    with pytest.raises(RateLimited):
        await services.chat.post(stream, ChatAuthor(200, "late"), "hi", ip="10.0.0.7")


async def test_slow_mode_spaces_out_members_but_not_moderators(
    services: Services, clock: ManualClock
) -> None:
    stream = await live_alice(services)
    await services.chat.set_slowmode(moderator_id=MOD, stream=stream, seconds=30)
    await services.chat.post(stream, BOB_AUTHOR, "first")
    with pytest.raises(RateLimited, match="Slow mode is on"):
        await services.chat.post(stream, BOB_AUTHOR, "second")
    await services.chat.post(stream, ChatAuthor(ALICE, "Alice"), "streamer a")
    await services.chat.post(stream, ChatAuthor(ALICE, "Alice"), "streamer b")
    clock.advance(30)
    await services.chat.post(stream, BOB_AUTHOR, "second")
    assert [a.action for a in await services.moderation.audit_log()] == ["slowmode"]


async def test_banned_and_timed_out_members_cannot_chat(
    services: Services, clock: ManualClock
) -> None:
    stream = await live_alice(services)
    await services.moderation.timeout(moderator_id=MOD, user_id=BOB, duration=timedelta(minutes=5))
    with pytest.raises(Forbidden, match="timed you out of the chat for 5m"):
        await services.chat.post(stream, BOB_AUTHOR, "hi")
    clock.advance(301)
    await services.chat.post(stream, BOB_AUTHOR, "back")
    await services.moderation.ban(
        moderator_id=MOD, user_id=BOB, scope="chat", duration=None, reason="spam"
    )
    with pytest.raises(Forbidden, match="banned you from the chat"):
        await services.chat.post(stream, BOB_AUTHOR, "hi")
    await services.moderation.unban(moderator_id=MOD, user_id=BOB)
    await services.chat.post(stream, BOB_AUTHOR, "forgiven")


async def test_a_chat_ban_hides_what_the_member_wrote(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    spam = await services.chat.post(stream, BOB_AUTHOR, "buy now")
    await services.chat.post(stream, ChatAuthor(ALICE, "Alice"), "hello")
    await services.moderation.ban(moderator_id=MOD, user_id=BOB, scope="both", duration=None)
    assert await stored_bodies(services, stream) == ["hello"]
    await services.events.drain()
    assert {"type": "hide", "id": spam.id} in chat_packets(livekit)


async def test_hiding_a_message_tells_the_room_and_the_listeners(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    heard: list[ChatEvent] = []

    async def listener(event: ChatEvent) -> None:
        heard.append(event)

    services.events.wire(
        "test", [inline(ChatMessagePosted, listener), inline(ChatMessageHidden, listener)]
    )
    message = await services.chat.post(stream, BOB_AUTHOR, "rude")
    await services.chat.hide(message.id, moderator_id=MOD, stream=stream)
    await services.events.drain()
    assert [event.kind for event in heard] == ["message", "hidden"]
    assert chat_packets(livekit)[-1] == {"type": "hide", "id": message.id}
    assert await stored_bodies(services, stream) == []
    [action] = await services.moderation.audit_log(target_id=BOB)
    assert action.action == "hide_message" and action.moderator_id == MOD


async def test_messages_that_arrive_together_share_packets(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    livekit.slow(0.05)  # a busy LiveKit: each SendData takes a while
    authors = [ChatAuthor(100 + n, f"p{n}") for n in range(30)]
    await asyncio.gather(*(services.chat.post(stream, a, "hey") for a in authors))
    await services.events.drain()
    assert len(chat_packets(livekit)) == 30
    # While one packet is on its way, the rest queue up and leave together.
    assert len(livekit.sent_data) <= 3
    assert all(len(sent.data) <= 15 * 1024 for sent in livekit.sent_data)


async def test_a_room_that_refuses_data_does_not_lose_the_message(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    livekit.fail_next("SendData", "internal", times=1)
    await services.chat.post(stream, BOB_AUTHOR, "still here")
    assert await stored_bodies(services, stream) == ["still here"]


async def test_a_streaming_ban_ends_the_stream_and_blocks_going_live(services: Services) -> None:
    await live_alice(services)
    await services.moderation.ban(
        moderator_id=MOD, user_id=ALICE, scope="streaming", duration=timedelta(days=1)
    )
    assert not (await services.streams.get_by_owner(ALICE)).active
    with pytest.raises(Forbidden, match="banned you from streaming for 1d"):
        await services.streams.go_live(ALICE)


async def test_kick_removes_viewer_connections_and_blocks_new_tokens(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    stream = await live_alice(services)
    assert stream.room_name is not None
    livekit.add_participant(stream.room_name, f"viewer-{BOB}-abc123")
    livekit.add_participant(stream.room_name, f"viewer-{BOB}-def456")
    livekit.add_participant(stream.room_name, f"viewer-{BOB}0-aaaaaa")  # another member
    removed = await services.moderation.kick(moderator_id=MOD, user_id=BOB)
    assert removed == 2
    assert set(livekit.participants[stream.room_name]) == {f"viewer-{BOB}0-aaaaaa"}
    with pytest.raises(Forbidden, match="watch again in 10m"):
        await services.moderation.check_may_watch(BOB)
    clock.advance(601)
    await services.moderation.check_may_watch(BOB)


async def test_nobody_can_sanction_themselves(services: Services) -> None:
    with pytest.raises(InvalidInput):
        await services.moderation.ban(moderator_id=MOD, user_id=MOD, scope="chat", duration=None)
    assert await services.moderation.audit_log() == []


async def test_slow_mode_holds_for_messages_sent_at_the_same_moment(services: Services) -> None:
    stream = await live_alice(services)
    await services.chat.set_slowmode(moderator_id=MOD, stream=stream, seconds=30)
    results = await asyncio.gather(
        *(services.chat.post(stream, BOB_AUTHOR, f"quick {n}") for n in range(3)),
        return_exceptions=True,
    )
    assert sum(isinstance(result, RateLimited) for result in results) == 2
    assert len(await stored_bodies(services, stream)) == 1

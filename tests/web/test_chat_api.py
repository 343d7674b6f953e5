"""The chat API as the watch page uses it, and what it refuses (4xx, nothing stored)."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, make_mocked_request

from core.accounts.auth import Identity
from core.chat.service import ChatAuthor
from core.config.settings import Settings
from core.kernel.clock import ManualClock
from core.kernel.errors import Forbidden, RateLimited
from core.services import Services
from core.streams import Stream, StreamDraft
from golive.bootstrap import open_services
from tests.conftest import ALICE, BOB, SignIn
from tests.fakes.livekit import FakeLiveKit
from web.chat import client_ip

Client = TestClient[object, object]
MOD_ID = 4242


async def live_alice(services: Services) -> Stream:
    await services.streams.create(
        owner_id=ALICE.user_id, username="alice", display_name="Alice", draft=StreamDraft("Paint")
    )
    return (await services.streams.go_live(ALICE.user_id)).stream


async def stored(services: Services, stream: Stream) -> list[str]:
    return [m.body for m in await services.chat.history(stream)]


async def say(client: Client, text: Any, slug: str = "alice") -> Any:
    return await client.post(f"/api/live/{slug}/chat", json={"text": text})


async def test_a_signed_in_viewer_posts_and_everyone_sees_it_in_the_history(
    client: Client, services: Services, sign_in: SignIn, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    await sign_in(client, BOB)
    response = await say(client, "hello Alice!")
    assert response.status == 201
    posted = (await response.json())["message"]
    assert posted["text"] == "hello Alice!"
    assert posted["author"] == {"id": str(BOB.user_id), "name": "Bob", "role": "member"}
    await services.events.drain()
    [packet] = livekit.sent_data
    assert packet.room == stream.room_name and packet.topic == "chat"
    assert json.loads(packet.text)["events"][0]["message"] == posted

    client.session.cookie_jar.clear()
    history = await (await client.get("/api/live/alice/chat")).json()
    assert [m["text"] for m in history["messages"]] == ["hello Alice!"]
    assert history["viewer"]["signedIn"] is False
    assert history["viewer"]["canModerate"] is False


async def test_history_keeps_the_last_fifty(client: Client, services: Services) -> None:
    stream = await live_alice(services)
    for n in range(55):
        await services.chat.post(stream, ChatAuthor(10_000 + n, f"p{n}"), f"message {n}")
    messages = (await (await client.get("/api/live/alice/chat")).json())["messages"]
    assert len(messages) == 50
    assert (messages[0]["text"], messages[-1]["text"]) == ("message 5", "message 54")


@pytest.mark.parametrize(
    ("text", "status", "words"),
    [
        ("", 400, "empty"),
        ("   \n ", 400, "empty"),
        ("x" * 501, 413, "at most 500"),
        (42, 400, "must be a string"),
        ("nul\x00", 400, "NUL"),
    ],
)
async def test_bad_messages_get_a_4xx_and_nothing_is_stored(
    client: Client,
    services: Services,
    sign_in: SignIn,
    livekit: FakeLiveKit,
    text: Any,
    status: int,
    words: str,
) -> None:
    stream = await live_alice(services)
    await sign_in(client, BOB)
    response = await say(client, text)
    assert response.status == status
    assert words in (await response.json())["error"]
    assert await stored(services, stream) == []
    assert livekit.sent_data == []


async def test_a_body_over_the_size_cap_is_413(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    stream = await live_alice(services)
    await sign_in(client, BOB)
    response = await say(client, "x" * 20_000)
    assert response.status == 413
    assert await stored(services, stream) == []


async def test_wrong_or_offline_streams_are_refused(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    await sign_in(client, BOB)
    assert (await say(client, "hi", slug="nobody")).status == 404
    stream = await live_alice(services)
    await services.streams.end(ALICE.user_id)
    response = await say(client, "hi")
    assert response.status == 409 and "offline" in (await response.json())["error"]
    assert await stored(services, stream) == []


async def test_visitors_must_sign_in_unless_guests_are_allowed(
    client: Client, services: Services
) -> None:
    stream = await live_alice(services)
    response = await say(client, "hi")
    assert response.status == 401 and "Sign in" in (await response.json())["error"]
    assert await stored(services, stream) == []


async def test_a_banned_author_is_refused(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    stream = await live_alice(services)
    await services.moderation.ban(
        moderator_id=MOD_ID, user_id=BOB.user_id, scope="chat", duration=timedelta(days=1)
    )
    await sign_in(client, BOB)
    response = await say(client, "let me in")
    assert response.status == 403 and "banned" in (await response.json())["error"]
    assert await stored(services, stream) == []


async def test_a_flood_gets_429_after_the_burst(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    stream = await live_alice(services)
    await sign_in(client, BOB)
    statuses = [(await say(client, f"spam {n}")).status for n in range(8)]
    assert statuses == [201] * 5 + [429] * 3
    assert len(await stored(services, stream)) == 5


async def test_moderators_hide_messages_and_others_cannot(
    client: Client, services: Services, sign_in: SignIn, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    await sign_in(client, BOB)
    message_id = (await (await say(client, "rude words")).json())["message"]["id"]

    refused = await client.post(f"/api/live/alice/chat/{message_id}/hide")
    assert refused.status == 403
    assert await stored(services, stream) == ["rude words"]

    moderator = Identity(MOD_ID, "mo", "Mo")
    await services.moderation.remember_moderator(MOD_ID, guild_id=1, is_moderator=True)
    await sign_in(client, moderator)
    history = await (await client.get("/api/live/alice/chat")).json()
    assert history["viewer"]["canModerate"] is True
    assert (await client.post(f"/api/live/alice/chat/{message_id}/hide")).status == 200
    assert await stored(services, stream) == []
    await services.events.drain()
    assert json.loads(livekit.sent_data[-1].text)["events"] == [{"type": "hide", "id": message_id}]
    missing = await client.post("/api/live/alice/chat/999999/hide")
    assert missing.status == 404


async def test_a_kick_also_covers_the_browser_it_came_from_without_its_cookie(
    client: Client, services: Services, sign_in: SignIn, settings: Settings, clock: ManualClock
) -> None:
    stream = await live_alice(services)
    ask = {"roomName": stream.room_name, "role": "viewer"}
    await sign_in(client, BOB)
    assert (await client.post("/api/live/token", json=ask)).status == 200
    await services.moderation.kick(moderator_id=MOD_ID, user_id=BOB.user_id)

    client.session.cookie_jar.clear()  # the same browser, signed out: a guest
    as_guest = await client.post("/api/live/token", json=ask)
    assert as_guest.status == 403
    assert "can watch again in 10m" in (await as_guest.json())["error"]
    # The kick is in the database: another process (a `golive web` replica) refuses it too.
    async with open_services(settings, clock) as replica:
        with pytest.raises(Forbidden):
            await replica.moderation.check_guest_may_watch("127.0.0.1")
        await replica.moderation.check_guest_may_watch("198.51.100.9")  # anyone else watches

    clock.advance(services.moderation.kick_block.total_seconds() + 1)
    assert (await client.post("/api/live/token", json=ask)).status == 200


async def test_a_kicked_member_gets_no_new_viewer_token(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    stream = await live_alice(services)
    await services.moderation.kick(moderator_id=MOD_ID, user_id=BOB.user_id)
    await sign_in(client, BOB)
    response = await client.post(
        "/api/live/token", json={"roomName": stream.room_name, "role": "viewer"}
    )
    assert response.status == 403 and "watch again" in (await response.json())["error"]


async def test_guests_chat_under_a_chosen_name_when_the_config_allows(
    client: Client, services: Services
) -> None:
    stream = await live_alice(services)
    services.chat.rules = dataclasses.replace(services.chat.rules, allow_guests=True)
    nameless = await say(client, "hi")
    assert nameless.status == 400 and "Choose a name" in (await nameless.json())["error"]
    response = await client.post("/api/live/alice/chat", json={"text": "hi!", "name": " Visitor "})
    assert response.status == 201
    author = (await response.json())["message"]["author"]
    assert author == {"id": None, "name": "Visitor", "role": "guest"}
    history = await (await client.get("/api/live/alice/chat")).json()
    assert history["viewer"]["guestsAllowed"] is True
    assert await stored(services, stream) == ["hi!"]


async def test_slow_mode_holds_for_guests_whatever_name_they_choose(
    client: Client, services: Services, clock: ManualClock
) -> None:
    stream = await live_alice(services)
    services.chat.rules = dataclasses.replace(services.chat.rules, allow_guests=True)
    await services.chat.set_slowmode(moderator_id=MOD_ID, stream=stream, seconds=30)

    async def guest_says(text: str, name: str = "Visitor") -> int:
        response = await client.post("/api/live/alice/chat", json={"text": text, "name": name})
        return response.status

    history = await (await client.get("/api/live/alice/chat")).json()
    assert history["slowModeSeconds"] == 30
    assert await guest_says("one") == 201
    clock.advance(5)
    assert await guest_says("two") == 429
    clock.advance(5)
    assert await guest_says("three", name="Someone Else") == 429
    clock.advance(20)
    assert await guest_says("four") == 201
    assert await stored(services, stream) == ["one", "four"]


async def test_guest_slow_mode_is_per_address(services: Services, clock: ManualClock) -> None:
    stream = await live_alice(services)
    services.chat.rules = dataclasses.replace(services.chat.rules, allow_guests=True)
    await services.chat.set_slowmode(moderator_id=MOD_ID, stream=stream, seconds=30)
    await services.chat.post(stream, ChatAuthor(None, "A"), "from one house", ip="198.51.100.1")
    await services.chat.post(stream, ChatAuthor(None, "B"), "from another", ip="198.51.100.2")
    with pytest.raises(RateLimited, match="Slow mode"):
        await services.chat.post(stream, ChatAuthor(None, "C"), "again", ip="198.51.100.1")


def test_the_flood_limit_trusts_only_the_forwarded_addresses_our_proxies_wrote() -> None:
    forged_then_real = make_mocked_request(
        "POST", "/", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}
    )
    assert client_ip(forged_then_real, proxy_hops=1) == "203.0.113.7"
    assert client_ip(forged_then_real, proxy_hops=2) == "6.6.6.6"
    direct = make_mocked_request("POST", "/")
    assert client_ip(direct, proxy_hops=1) == direct.remote
    assert client_ip(forged_then_real, proxy_hops=0) == forged_then_real.remote

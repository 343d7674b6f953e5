"""The chat on the watch page, in Chromium.

There is no LiveKit media server in the tests, so with the real livekit-client the page never
connects to the room and cannot receive SendData packets: it falls back to polling the history
every few seconds, and the first test checks exactly that path (the moderator's message arrives
through a poll, and the page did poll). The room path is covered separately with the page
tests' stand-in for livekit-client: the bytes the server really sent to the LiveKit double are
replayed into the page as a DataReceived event on the "chat" topic.
"""

from __future__ import annotations

import asyncio
import json
import re

from playwright.async_api import Route, expect

from core.accounts.auth import Identity
from core.chat.service import ChatAuthor
from core.services import Services
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit
from tests.pages.browser import (
    OpenTab,
    Tab,
    create_stream,
    lk,
    screenshot,
    sign_in_via_link,
    use_stub_livekit,
)

MOD = Identity(user_id=4242, username="mo", display_name="Mo")


async def replay_into_page(tab: Tab, payload: str) -> None:
    """Deliver one room packet the server sent (on the chat topic) to the page's room."""
    await lk(
        tab,
        f"lk.room().emit('dataReceived', new TextEncoder().encode({json.dumps(payload)}),"
        " undefined, 0, 'chat')",
    )


async def test_a_signed_in_viewer_chats_and_sees_a_moderators_message_appear(
    services: Services,
    open_tab: OpenTab,
) -> None:
    stream = await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    stream = await services.streams.get_by_owner(ALICE.user_id)
    await services.moderation.remember_moderator(MOD.user_id, guild_id=1, is_moderator=True)
    tab = await open_tab()
    await sign_in_via_link(services, tab, BOB, "/live/alice")
    chat = tab.page.get_by_test_id("chat")
    await expect(chat.get_by_test_id("chat-empty")).to_be_visible()

    await chat.get_by_label("Message as Bob").fill("hello from the browser")
    await chat.get_by_role("button", name="Send").click()
    messages = chat.get_by_test_id("chat-message")
    await expect(messages).to_have_count(1)
    await expect(messages.first).to_contain_text("Bob")
    await expect(messages.first).to_contain_text("hello from the browser")
    await expect(chat.get_by_label("Message as Bob")).to_have_value("")
    assert [m.body for m in await services.chat.history(stream)] == ["hello from the browser"]

    # A moderator answers from Discord; this page has no room connection, so a poll brings it.
    await services.chat.post(stream, ChatAuthor(MOD.user_id, "Mo"), "welcome, Bob!")
    await expect(messages).to_have_count(2)
    await expect(messages.nth(1)).to_contain_text("Mod")
    await expect(messages.nth(1)).to_contain_text("welcome, Bob!")
    polls = [url for url in tab.urls if url.endswith("/api/live/alice/chat")]
    assert len(polls) >= 2
    await expect(chat.locator(".chat__hide")).to_have_count(0)  # viewers can't hide
    await screenshot(tab.page, "watch-chat.png")
    assert tab.errors == []


async def test_refusals_are_explained_under_the_form(
    services: Services,
    open_tab: OpenTab,
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await sign_in_via_link(services, tab, BOB, "/live/alice")
    chat = tab.page.get_by_test_id("chat")
    await chat.get_by_label("Message as Bob").fill("come to spam.com")
    await chat.get_by_role("button", name="Send").click()
    await expect(chat.get_by_test_id("chat-status")).to_have_text(
        "Links aren't allowed in this chat."
    )
    await expect(chat.get_by_test_id("chat-message")).to_have_count(0)
    assert tab.errors == []


async def test_visitors_are_told_how_to_sign_in(
    services: Services,
    open_tab: OpenTab,
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await tab.goto("/live/alice")
    chat = tab.page.get_by_test_id("chat")
    await expect(chat.get_by_test_id("chat-sign-in")).to_contain_text("press Watch")
    await expect(chat.get_by_test_id("chat-form")).to_be_hidden()
    assert tab.errors == []


async def test_room_packets_add_and_hide_messages_when_connected(
    services: Services,
    livekit: FakeLiveKit,
    open_tab: OpenTab,
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    stream = await services.streams.get_by_owner(ALICE.user_id)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await tab.goto("/live/alice")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    message = await services.chat.post(stream, ChatAuthor(ALICE.user_id, "Alice"), "<b>hi</b>")
    await services.events.drain()
    await replay_into_page(tab, livekit.sent_data[-1].text)
    messages = tab.page.get_by_test_id("chat-message")
    await expect(messages).to_have_count(1)
    await expect(messages.first).to_contain_text("Streamer")
    await expect(messages.first).to_contain_text("<b>hi</b>")  # shown as text, never as HTML

    await services.chat.hide(message.id, moderator_id=MOD.user_id, stream=stream)
    await services.events.drain()
    await replay_into_page(tab, livekit.sent_data[-1].text)
    await expect(messages).to_have_count(0)

    # Tip alerts show in the chat as they arrive (as text: names and messages are untrusted).
    tip = {"type": "tip", "from": "<i>Carol</i>", "amount": 40, "message": "for the sunset"}
    await lk(
        tab,
        f"lk.room().emit('dataReceived', new TextEncoder().encode({json.dumps(json.dumps(tip))}),"
        " undefined, 0, 'tips')",
    )
    await expect(tab.page.get_by_test_id("chat-tip")).to_have_text(
        "💜 <i>Carol</i> tipped 40 credits: for the sunset"
    )
    assert tab.errors == []


async def test_a_moderator_hides_a_message_from_the_page(
    services: Services,
    open_tab: OpenTab,
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    stream = await services.streams.get_by_owner(ALICE.user_id)
    await services.chat.post(stream, ChatAuthor(BOB.user_id, "Bob"), "something rude")
    await services.moderation.remember_moderator(MOD.user_id, guild_id=1, is_moderator=True)
    tab = await open_tab()
    await sign_in_via_link(services, tab, MOD, "/live/alice")
    messages = tab.page.get_by_test_id("chat-message")
    await expect(messages).to_have_count(1)
    await messages.first.get_by_role("button", name="Hide this message from Bob").click()
    await expect(messages).to_have_count(0)
    assert await services.chat.history(stream) == []
    [action] = await services.moderation.audit_log()
    assert (action.action, action.moderator_id) == ("hide_message", MOD.user_id)
    assert tab.errors == []


async def test_a_late_history_answer_does_not_drop_what_the_room_delivered_meanwhile(
    services: Services,
    livekit: FakeLiveKit,
    open_tab: OpenTab,
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    stream = await services.streams.get_by_owner(ALICE.user_id)
    await services.chat.post(stream, ChatAuthor(ALICE.user_id, "Alice"), "welcome, everyone")
    tab = await open_tab()
    await use_stub_livekit(tab)
    release = asyncio.Event()

    async def answer_late(route: Route) -> None:
        stale = await route.fetch()  # the history as it is now: only the welcome
        await release.wait()
        await route.fulfill(response=stale)

    await tab.page.route("**/api/live/alice/chat", answer_late)
    await tab.goto("/live/alice")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    await services.chat.post(stream, ChatAuthor(BOB.user_id, "Bob"), "first!")
    await services.events.drain()
    await replay_into_page(tab, livekit.sent_data[-1].text)
    messages = tab.page.get_by_test_id("chat-message")
    await expect(messages).to_have_text([re.compile("first!")])

    release.set()
    # The welcome shows once the late answer is applied; what the room brought stays.
    await expect(messages).to_have_text([re.compile("welcome, everyone"), re.compile("first!")])
    assert tab.errors == []

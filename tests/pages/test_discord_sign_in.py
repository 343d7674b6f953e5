"""Sign in with Discord in Chromium: from a watch page, through the OAuth double's authorize
page (which sends the browser straight back with a code), back on the same page, signed in,
chatting."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import expect

from core.config.settings import Settings
from core.services import Services
from tests.conftest import ALICE
from tests.fakes.discord_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeDiscordOAuth,
    running_fake_discord_oauth,
)
from tests.pages.browser import (
    PHONE,
    OpenTab,
    create_stream,
    no_horizontal_scroll,
    use_stub_livekit,
)
from tests.pages.public_address import at_public_address

# Fixtures: golive at the address Discord sends the browser back to.
from tests.pages.public_address import web_port as web_port
from tests.pages.public_address import web_server as web_server


@pytest_asyncio.fixture
async def discord(web_port: int) -> AsyncIterator[FakeDiscordOAuth]:
    callback = f"http://127.0.0.1:{web_port}/auth/discord/callback"
    async with running_fake_discord_oauth(callback) as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, discord: FakeDiscordOAuth, web_port: int) -> Settings:
    return dataclasses.replace(
        at_public_address(settings, web_port),
        discord=dataclasses.replace(
            settings.discord,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            api_base=discord.api_base,
            authorize_url=discord.authorize_url,
        ),
    )


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_sign_in_from_a_watch_page_lands_back_on_it_signed_in_and_able_to_chat(
    services: Services, open_tab: OpenTab, discord: FakeDiscordOAuth, viewport: str
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await (open_tab(PHONE) if viewport == "phone" else open_tab())
    await use_stub_livekit(tab)
    await tab.goto("/live/alice")
    button = tab.page.get_by_role("link", name="Sign in with Discord").first
    await expect(button).to_be_visible()
    assert await no_horizontal_scroll(tab.page)

    await button.click()
    await expect(tab.page.get_by_text("Signed in as Carol")).to_be_visible()
    assert re.fullmatch(re.escape(tab.base) + "/live/alice", tab.page.url)
    assert [a["redirect_uri"] for a in discord.authorizations] == [
        f"{tab.base}/auth/discord/callback"
    ]
    cookies = {c["name"]: c for c in await tab.page.context.cookies()}
    assert cookies["golive_session"]["httpOnly"] and cookies["golive_session"]["sameSite"] == "Lax"

    chat = tab.page.get_by_test_id("chat")
    await chat.get_by_label("Message as Carol").fill("hi, I came from a shared link")
    await chat.get_by_role("button", name="Send").click()
    await expect(chat.get_by_test_id("chat-message")).to_contain_text(
        ["hi, I came from a shared link"]
    )
    await expect(tab.page.get_by_test_id("tip-form")).to_be_visible()
    assert tab.errors == []


async def test_the_chats_own_button_signs_in_too_and_cancel_is_a_calm_page(
    services: Services, open_tab: OpenTab, discord: FakeDiscordOAuth
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await tab.goto("/live/alice")
    chat_sign_in = tab.page.get_by_test_id("chat-sign-in")
    await expect(chat_sign_in).to_contain_text("To chat, sign in with your Discord account.")

    discord.deny = True  # the person presses Cancel on Discord's screen
    await chat_sign_in.get_by_role("link", name="Sign in with Discord").click()
    message = tab.page.get_by_test_id("message")
    await expect(message.get_by_role("heading")).to_have_text("You didn't sign in")
    assert await services.db.fetch_all("SELECT * FROM web_sessions") == []

    discord.deny = False
    await message.get_by_role("link", name="Try again").click()
    await expect(tab.page.get_by_text("Signed in as Carol")).to_be_visible()
    assert tab.page.url == f"{tab.base}/live/alice"
    assert tab.errors == []

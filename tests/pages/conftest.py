"""Browser fixtures for the page tests: Debian's Chromium driven by Playwright, the sidecar on a
random loopback port, and tabs that fail the test on any Content-Security-Policy violation."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright

from core.services import Services
from tests.pages.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, WAIT_MS, OpenTab, Tab
from web.app import create_app, server_options


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed")
    return CHROMIUM


@pytest_asyncio.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture
async def web_server(services: Services) -> AsyncIterator[TestServer]:
    """The sidecar on 127.0.0.1 and a random port (a local stand-in for a shared live_server)."""
    server = TestServer(create_app(services), host="127.0.0.1")
    await server.start_server(**server_options())
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture
async def open_tab(browser: Browser, web_server: TestServer) -> AsyncIterator[OpenTab]:
    base = str(web_server.make_url("")).rstrip("/")
    contexts = []
    tabs: list[Tab] = []

    async def open_(viewport: dict[str, int] = DESKTOP, *, touch: bool = False) -> Tab:
        context = await browser.new_context(viewport=viewport, has_touch=touch)
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        tab = Tab(page, base)
        page.on("pageerror", lambda error: tab.errors.append(str(error)))
        page.on("request", lambda request: tab.urls.append(request.url))
        page.on("websocket", lambda socket: tab.websockets.append(socket.url))
        page.on(
            "console",
            lambda message: (
                tab.console_errors.append(message.text) if message.type == "error" else None
            ),
        )
        tabs.append(tab)
        return tab

    yield open_
    for context in contexts:
        await context.close()
    # livekit-client logs its own failed connections (no media server here); anything the page
    # does that our CSP blocks (an inline script or style, a third-party host) is a bug.
    blocked = [
        text for tab in tabs for text in tab.console_errors if "Content Security Policy" in text
    ]
    assert blocked == []

"""For page tests that leave golive and come back (Discord's sign-in, Stripe Checkout): the
sidecar on a port chosen before the settings are made, so `web.public_url` — the base of the
addresses golive hands to Discord and Stripe — is where the browser really finds it.

Import `web_port` and `web_server` into the test module (they replace conftest's `web_server`)
and give the module's `settings` `at_public_address(settings, web_port)`."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from core.config.settings import Settings
from core.services import Services
from web.app import create_app, server_options


@pytest.fixture
def web_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def at_public_address(settings: Settings, port: int) -> Settings:
    web = dataclasses.replace(settings.web, public_url=f"http://127.0.0.1:{port}")
    return dataclasses.replace(settings, web=web)


@pytest_asyncio.fixture
async def web_server(services: Services, web_port: int) -> AsyncIterator[TestServer]:
    server = TestServer(create_app(services), host="127.0.0.1", port=web_port)
    await server.start_server(**server_options())
    try:
        yield server
    finally:
        await server.close()

"""Sign in with Discord's service against the OAuth double: a state kept in the database works
once, in whichever process the redirect reaches, and no sooner than Discord vouches."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio

from core.accounts import DiscordUnavailable, pkce_challenge
from core.config import Settings
from core.kernel.clock import ManualClock
from core.kernel.errors import InvalidInput, NotFound
from core.services import Services
from golive.bootstrap import open_services
from tests.fakes.discord_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    DiscordUser,
    FakeDiscordOAuth,
    running_fake_discord_oauth,
)

CALLBACK = "http://golive.test/auth/discord/callback"


@pytest_asyncio.fixture
async def discord() -> AsyncIterator[FakeDiscordOAuth]:
    async with running_fake_discord_oauth(CALLBACK) as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, discord: FakeDiscordOAuth) -> Settings:
    config = dataclasses.replace(
        settings.discord,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_base=discord.api_base,
        authorize_url=discord.authorize_url,
    )
    return dataclasses.replace(settings, discord=config)


async def code_for(url: str) -> str:
    async with aiohttp.ClientSession() as browser, browser.get(url, allow_redirects=False) as r:
        return parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]


def test_the_pkce_challenge_is_rfc_7636s_example() -> None:
    # RFC 7636, Appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


async def test_a_state_started_in_one_process_is_finished_in_another(
    settings: Settings, services: Services, clock: ManualClock
) -> None:
    started = await services.discord_sign_in.begin("/live/alice")
    code = await code_for(started.url)
    # A second process on the same database: nothing of the sign-in was held in memory.
    async with open_services(settings, clock) as other:
        session, next_path = await other.discord_sign_in.finish(started.state, code)
    assert next_path == "/live/alice"
    identity = await services.auth.identity_for_session(session)
    assert identity is not None and identity.user_id == 555000111


async def test_two_redirects_racing_with_one_state_sign_in_once(
    services: Services, discord: FakeDiscordOAuth
) -> None:
    started = await services.discord_sign_in.begin("/live")
    code = await code_for(started.url)
    results = await asyncio.gather(
        *(services.discord_sign_in.finish(started.state, code) for _ in range(2)),
        return_exceptions=True,
    )
    assert sorted(type(result).__name__ for result in results) == ["InvalidInput", "tuple"]
    assert len(discord.token_requests) == 1  # the loser never reached Discord


async def test_discord_down_spends_the_state_and_signs_nobody_in(
    services: Services, discord: FakeDiscordOAuth
) -> None:
    started = await services.discord_sign_in.begin("/live")
    code = await code_for(started.url)
    discord.token_status = 502
    with pytest.raises(DiscordUnavailable):
        await services.discord_sign_in.finish(started.state, code)
    with pytest.raises(InvalidInput):
        await services.discord_sign_in.finish(started.state, code)
    assert await services.db.fetch_all("SELECT * FROM web_sessions") == []


@pytest.mark.parametrize(
    ("user_id", "username"),
    [("not-a-number", "x"), ("1" * 30, "x"), ("123", "  "), (123, "x"), ("123", None)],
)
async def test_an_answer_from_users_me_we_cannot_use_signs_nobody_in(
    services: Services, discord: FakeDiscordOAuth, user_id: object, username: object
) -> None:
    discord.user = DiscordUser(user_id, username)
    started = await services.discord_sign_in.begin("/live")
    with pytest.raises(DiscordUnavailable):
        await services.discord_sign_in.finish(started.state, await code_for(started.url))
    assert await services.db.fetch_all("SELECT * FROM web_sessions") == []


async def test_not_set_up_refuses_to_start(settings: Settings, clock: ManualClock) -> None:
    off = dataclasses.replace(
        settings, discord=dataclasses.replace(settings.discord, client_id=None, client_secret=None)
    )
    async with open_services(off, clock) as services:
        assert services.discord_sign_in.enabled is False
        with pytest.raises(NotFound):
            await services.discord_sign_in.begin("/live")

"""The Discord OAuth double refuses what Discord refuses, so the sign-in tests can trust it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest_asyncio

from tests.fakes.discord_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeDiscordOAuth,
    challenge_of,
    running_fake_discord_oauth,
)

REDIRECT = "http://golive.test/auth/discord/callback"
VERIFIER = "v" * 64


@pytest_asyncio.fixture
async def discord() -> AsyncIterator[FakeDiscordOAuth]:
    async with running_fake_discord_oauth(REDIRECT) as fake:
        yield fake


def authorize_params(**changes: str) -> dict[str, str]:
    return {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "identify",
        "state": "s1",
        "code_challenge": challenge_of(VERIFIER),
        "code_challenge_method": "S256",
        **changes,
    }


async def code_from(http: aiohttp.ClientSession, discord: FakeDiscordOAuth) -> str:
    async with http.get(
        discord.authorize_url, params=authorize_params(), allow_redirects=False
    ) as answer:
        return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def basic() -> dict[str, str]:
    pair = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


async def exchange(http: aiohttp.ClientSession, discord: FakeDiscordOAuth, **form: str) -> Any:
    async with http.post(
        f"{discord.api_base}/oauth2/token",
        data={"grant_type": "authorization_code", "redirect_uri": REDIRECT, **form},
        headers=basic(),
    ) as answer:
        return answer.status, await answer.json()


async def test_a_code_with_its_verifier_gets_a_token_that_answers_users_me(
    discord: FakeDiscordOAuth,
) -> None:
    async with aiohttp.ClientSession() as http:
        code = await code_from(http, discord)
        status, token = await exchange(http, discord, code=code, code_verifier=VERIFIER)
        assert status == 200 and token["token_type"] == "Bearer"
        async with http.get(
            f"{discord.api_base}/users/@me",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ) as me:
            assert (await me.json())["username"] == "carol"
        async with http.get(f"{discord.api_base}/users/@me") as anonymous:
            assert anonymous.status == 401


async def test_a_wrong_verifier_or_a_second_use_is_invalid_grant(
    discord: FakeDiscordOAuth,
) -> None:
    async with aiohttp.ClientSession() as http:
        code = await code_from(http, discord)
        assert (await exchange(http, discord, code=code, code_verifier="w" * 64))[0] == 400
        # The failed try spent the code: the right verifier is too late now.
        assert (await exchange(http, discord, code=code, code_verifier=VERIFIER))[0] == 400
    assert discord.refusals == ["invalid_grant", "invalid_grant"]


async def test_the_token_endpoint_wants_a_form_and_the_client_secret(
    discord: FakeDiscordOAuth,
) -> None:
    async with aiohttp.ClientSession() as http:
        code = await code_from(http, discord)
        async with http.post(
            f"{discord.api_base}/oauth2/token", json={"code": code}, headers=basic()
        ) as as_json:
            assert as_json.status == 400
        async with http.post(
            f"{discord.api_base}/oauth2/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
        ) as no_secret:
            assert no_secret.status == 401
    assert discord.refusals == ["invalid_request", "invalid_client"]


async def test_the_authorize_page_refuses_what_discord_refuses(
    discord: FakeDiscordOAuth,
) -> None:
    async with aiohttp.ClientSession() as http:
        for change in (
            {"redirect_uri": "https://evil.example/cb"},
            {"client_id": "1"},
            {"code_challenge_method": "plain"},
            {"scope": "guilds"},
        ):
            async with http.get(
                discord.authorize_url, params=authorize_params(**change), allow_redirects=False
            ) as answer:
                assert answer.status == 400, change

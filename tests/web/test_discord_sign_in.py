"""Sign in with Discord through the API, against the OAuth double (tests/fakes/discord_oauth.py):
the whole flow, and everything the callback must refuse without signing anyone in."""

from __future__ import annotations

import dataclasses
import html
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient

from core.config.settings import Settings
from core.services import Services
from core.streams import StreamDraft
from tests.fakes.discord_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeDiscordOAuth,
    challenge_of,
    running_fake_discord_oauth,
)
from tests.web.test_fuzz_routes import row_counts
from web.discord_login import STATE_COOKIE
from web.keys import SESSION_COOKIE

Client = TestClient[Any, Any]
PUBLIC_URL = "http://golive.test"
REDIRECT_URI = f"{PUBLIC_URL}/auth/discord/callback"
CAROL_ID = 555000111


@pytest_asyncio.fixture
async def discord() -> AsyncIterator[FakeDiscordOAuth]:
    async with running_fake_discord_oauth(REDIRECT_URI) as fake:
        yield fake


def with_discord(settings: Settings, fake: FakeDiscordOAuth) -> Settings:
    discord = dataclasses.replace(
        settings.discord,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_base=fake.api_base,
        authorize_url=fake.authorize_url,
    )
    return dataclasses.replace(settings, discord=discord)


@pytest.fixture
def settings(settings: Settings, discord: FakeDiscordOAuth) -> Settings:
    return with_discord(settings, discord)


@pytest_asyncio.fixture(autouse=True)
async def alice_page(services: Services) -> None:
    await services.streams.create(
        owner_id=1001, username="alice", display_name="Alice", draft=StreamDraft("Painting")
    )


async def start(client: Client, next_path: str | None = "/live/alice") -> aiohttp.ClientResponse:
    params = {} if next_path is None else {"next": next_path}
    return await client.get("/auth/discord", params=params, allow_redirects=False)


async def authorize(location: str) -> dict[str, str]:
    """What the browser does at Discord: open the authorize URL, follow it back (the query)."""
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(location, allow_redirects=False) as answer,
    ):
        assert answer.status == 302, await answer.text()
        back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(back.query).items()}


async def callback(client: Client, query: dict[str, str]) -> aiohttp.ClientResponse:
    return await client.get("/auth/discord/callback", params=query, allow_redirects=False)


async def sign_in_with_discord(client: Client, next_path: str = "/live/alice") -> Any:
    started = await start(client, next_path)
    assert started.status == 302
    return await callback(client, await authorize(started.headers["Location"]))


async def text_of(response: aiohttp.ClientResponse) -> str:
    """The page as a reader sees its words (HTML entities decoded)."""
    return html.unescape(await response.text())


async def signed_in_as(services: Services, response: aiohttp.ClientResponse) -> Any:
    cookie = response.cookies.get(SESSION_COOKIE)
    return await services.auth.identity_for_session(cookie.value if cookie else None)


async def test_signing_in_lands_back_on_the_page_with_a_web_session(
    client: Client, services: Services, discord: FakeDiscordOAuth
) -> None:
    started = await start(client, "/live/alice?lang=de")
    location = urlsplit(started.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == discord.authorize_url
    asked = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert asked["client_id"] == CLIENT_ID and asked["scope"] == "identify"
    assert asked["response_type"] == "code" and asked["redirect_uri"] == REDIRECT_URI
    assert asked["code_challenge_method"] == "S256" and len(asked["state"]) >= 32
    state_cookie = started.cookies[STATE_COOKIE]
    assert state_cookie.value == asked["state"]
    assert state_cookie["httponly"] and state_cookie["samesite"] == "Lax"
    assert state_cookie["path"] == "/auth/discord" and not state_cookie["secure"]

    response = await callback(client, await authorize(started.headers["Location"]))
    assert response.status == 303
    assert response.headers["Location"] == "/live/alice?lang=de"
    session = response.cookies[SESSION_COOKIE]
    assert session["httponly"] and session["samesite"] == "Lax" and session["path"] == "/"
    identity = await signed_in_as(services, response)
    assert (identity.user_id, identity.username, identity.display_name) == (
        CAROL_ID,
        "carol",
        "Carol",
    )
    # PKCE: what reached Discord's token endpoint is the verifier of the challenge it was shown.
    [exchange] = discord.token_requests
    assert challenge_of(exchange["code_verifier"]) == asked["code_challenge"]
    assert exchange["redirect_uri"] == REDIRECT_URI and "client_secret" not in exchange
    # The state is spent, and the page now greets the member.
    [row] = await services.db.fetch_all("SELECT used_at FROM discord_sign_ins")
    assert row["used_at"] is not None
    async with client.get("/live/alice") as page:
        shown = await text_of(page)
    assert "Signed in as Carol" in shown and 'data-testid="discord-sign-in"' not in shown


async def test_a_member_without_a_display_name_is_shown_by_username(
    client: Client, services: Services, discord: FakeDiscordOAuth
) -> None:
    discord.user = dataclasses.replace(discord.user, global_name=None)
    identity = await signed_in_as(services, await sign_in_with_discord(client))
    assert identity.display_name == "carol"


async def test_signing_in_again_replaces_the_session_this_browser_had(
    client: Client, services: Services, discord: FakeDiscordOAuth
) -> None:
    first = await sign_in_with_discord(client)
    old_token = first.cookies[SESSION_COOKIE].value
    second = await sign_in_with_discord(client)
    assert await signed_in_as(services, second) is not None
    assert await services.auth.identity_for_session(old_token) is None


async def test_a_state_works_once(
    client: Client, services: Services, discord: FakeDiscordOAuth
) -> None:
    started = await start(client)
    query = await authorize(started.headers["Location"])
    assert (await callback(client, query)).status == 303
    sessions = await row_counts(services)
    again = await callback(client, query)
    assert again.status == 400 and SESSION_COOKIE not in again.cookies
    assert "can't be finished" in await text_of(again)
    assert await row_counts(services) == sessions


async def test_an_expired_state_is_refused(
    client: Client, services: Services, clock: Any, discord: FakeDiscordOAuth
) -> None:
    started = await start(client)
    query = await authorize(started.headers["Location"])
    clock.advance(timedelta(minutes=11).total_seconds())
    before = await row_counts(services)
    response = await callback(client, query)
    assert response.status == 400 and SESSION_COOKIE not in response.cookies
    assert await row_counts(services) == before
    assert discord.token_requests == []  # refused before Discord was asked anything


async def test_a_callback_from_another_browser_is_refused_and_does_not_spend_the_state(
    client: Client, services: Services, discord: FakeDiscordOAuth
) -> None:
    """Login CSRF: an attacker's finished-looking callback link, opened in someone else's
    browser, must not sign that browser in (it lacks the state cookie)."""
    started = await start(client)
    query = await authorize(started.headers["Location"])
    before = await row_counts(services)
    async with (
        aiohttp.ClientSession() as victim,
        victim.get(
            client.make_url("/auth/discord/callback"), params=query, allow_redirects=False
        ) as refused,
    ):
        assert refused.status == 400 and SESSION_COOKIE not in refused.cookies
    assert await row_counts(services) == before
    assert (await callback(client, query)).status == 303  # the right browser still can


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"code": "abc"},
        {"state": "made-up-state"},
        {"code": "abc", "state": "made-up-state-0123456789-0123456789-0123"},
        {"code": "abc", "state": "x" * 5000},
        {"code": "c" * 5000, "state": "s"},
    ],
)
async def test_a_callback_without_a_known_state_and_code_writes_nothing(
    client: Client, services: Services, discord: FakeDiscordOAuth, query: dict[str, str]
) -> None:
    if "state" in query:  # even with the cookie to match, a state nobody issued is refused
        client.session.cookie_jar.update_cookies({STATE_COOKIE: query["state"]})
    before = await row_counts(services)
    response = await callback(client, query)
    assert response.status == 400 and SESSION_COOKIE not in response.cookies
    assert "Start again" in await text_of(response)
    assert await row_counts(services) == before
    assert discord.token_requests == []


async def test_pressing_cancel_at_discord_is_a_friendly_page_with_a_way_back(
    client: Client, services: Services, discord: FakeDiscordOAuth
) -> None:
    discord.deny = True
    started = await start(client, "/live/alice")
    query = await authorize(started.headers["Location"])
    assert query["error"] == "access_denied"
    before = await row_counts(services)
    response = await callback(client, query)
    shown = await text_of(response)
    assert response.status == 401 and SESSION_COOKIE not in response.cookies
    assert "You didn't sign in" in shown and "nothing changed" in shown
    assert 'href="/auth/discord?next=/live/alice"' in shown
    assert await row_counts(services) == before


async def test_another_provider_error_is_a_page_too(client: Client, services: Services) -> None:
    response = await callback(client, {"error": "server_error", "state": "whatever"})
    assert response.status == 502 and "Discord couldn't sign you in" in await text_of(response)


@pytest.mark.parametrize("failing", ["token", "users"])
async def test_discord_failing_after_the_redirect_is_a_clear_page_not_a_500(
    client: Client,
    services: Services,
    discord: FakeDiscordOAuth,
    caplog: pytest.LogCaptureFixture,
    failing: str,
) -> None:
    if failing == "token":
        discord.token_status = 503
    else:
        discord.users_status = 500
    response = await sign_in_with_discord(client, "/live/alice")
    shown = await text_of(response)
    assert response.status == 502 and SESSION_COOKIE not in response.cookies
    assert "Discord can't be reached" in shown and "not signed in" in shown
    assert 'href="/auth/discord?next=/live/alice"' in shown
    assert await services.db.fetch_all("SELECT * FROM web_sessions") == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_discord_unreachable_is_a_clear_page(
    settings: Settings, services: Services, client: Client, discord: FakeDiscordOAuth
) -> None:
    started = await start(client)
    query = await authorize(started.headers["Location"])
    services.discord_sign_in.config = dataclasses.replace(
        settings.discord, api_base="http://127.0.0.1:9/api/v10"
    )
    response = await callback(client, query)
    assert response.status == 502 and "Discord can't be reached" in await text_of(response)


async def test_the_client_secret_and_tokens_never_reach_the_log(
    client: Client, discord: FakeDiscordOAuth, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # golive's level (aiosqlite's DEBUG lines echo every SQL value)
    discord.users_status = 500  # a failure logs the most
    await sign_in_with_discord(client)
    # aiohttp's own access log (the test servers') is off in golive's runner (golive/sidecar.py):
    # golive.access writes paths without their query.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert "GET /auth/discord/callback 502" in logged
    [exchange] = discord.token_requests
    for secret in (CLIENT_SECRET, exchange["code"], exchange["code_verifier"]):
        assert secret not in logged


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "live",
        "/" + "a" * 2000,
    ],
)
async def test_only_pages_of_this_site_can_be_returned_to(
    client: Client, services: Services, next_path: str
) -> None:
    before = await row_counts(services)
    response = await start(client, next_path)
    assert response.status == 400 and "Location" not in response.headers
    assert STATE_COOKIE not in response.cookies
    assert "a page of this site" in await text_of(response)
    assert await row_counts(services) == before


async def test_a_page_with_any_letters_in_its_address_is_come_back_to(client: Client) -> None:
    response = await sign_in_with_discord(client, "/live/alice?q=café crème")
    assert response.status == 303
    assert response.headers["Location"] == "/live/alice?q=caf%C3%A9+cr%C3%A8me"


async def test_a_head_request_starts_nothing(client: Client, services: Services) -> None:
    before = await row_counts(services)
    response = await client.head("/auth/discord?next=/live", allow_redirects=False)
    assert response.status == 405
    assert await row_counts(services) == before


async def test_without_next_it_comes_back_to_the_grid(client: Client) -> None:
    response = await sign_in_with_discord(client, "/live")
    assert response.headers["Location"] == "/live"
    started = await start(client, None)
    assert started.status == 302


async def test_the_header_button_comes_back_to_the_page_it_is_on(client: Client) -> None:
    async with client.get("/live/alice?lang=de") as page:
        shown = await text_of(page)
    assert 'href="/auth/discord?next=/live/alice%3Flang%3Dde"' in shown
    # Chat and tips say how to sign in, with the same button.
    async with client.get("/login/not-a-real-token!") as page:
        assert 'href="/auth/discord?next=/live"' in await page.text()


async def test_a_banned_member_who_signs_in_with_discord_is_still_refused_in_chat(
    client: Client, services: Services
) -> None:
    await services.streams.go_live(1001)
    await services.moderation.ban(
        moderator_id=4242, user_id=CAROL_ID, scope="chat", duration=timedelta(days=1)
    )
    assert (await sign_in_with_discord(client)).status == 303
    response = await client.post("/api/live/alice/chat", json={"text": "let me in"})
    assert response.status == 403 and "banned" in (await response.json())["error"]


async def test_a_member_signed_in_with_discord_can_chat(client: Client, services: Services) -> None:
    await services.streams.go_live(1001)
    assert (await sign_in_with_discord(client)).status == 303
    response = await client.post("/api/live/alice/chat", json={"text": "hello from Discord"})
    assert response.status == 201


class TestOverHttps:
    @pytest.fixture
    def settings(self, settings: Settings, discord: FakeDiscordOAuth) -> Settings:
        discord.redirect_uris.add("https://golive.test/auth/discord/callback")
        https = dataclasses.replace(settings.web, public_url="https://golive.test")
        return dataclasses.replace(settings, web=https)

    async def test_the_cookies_are_secure(self, client: Client) -> None:
        started = await start(client)
        assert started.cookies[STATE_COOKIE]["secure"]
        async with (
            aiohttp.ClientSession() as browser,
            browser.get(started.headers["Location"], allow_redirects=False) as answer,
        ):
            query = {
                k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()
            }
        # The test client speaks plain HTTP, so it would not send a Secure cookie back itself.
        response = await client.get(
            "/auth/discord/callback",
            params=query,
            headers={"Cookie": f"{STATE_COOKIE}={query['state']}"},
            allow_redirects=False,
        )
        assert response.status == 303
        assert response.cookies[SESSION_COOKIE]["secure"]


class TestNotSetUp:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        discord = dataclasses.replace(settings.discord, client_id=None, client_secret=None)
        return dataclasses.replace(settings, discord=discord)

    async def test_no_button_and_the_routes_say_so(
        self, client: Client, services: Services
    ) -> None:
        await services.streams.go_live(1001)
        async with client.get("/live/alice") as page:
            shown = await text_of(page)
        assert "/auth/discord" not in shown and "press <strong>Watch</strong>" in shown
        before = await row_counts(services)
        for path in ("/auth/discord?next=/live", "/auth/discord/callback?code=a&state=b"):
            response = await client.get(path, allow_redirects=False)
            assert response.status == 404
            assert "isn't set up" in await text_of(response)
        assert await row_counts(services) == before

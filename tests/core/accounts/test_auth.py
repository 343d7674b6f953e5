"""One-time login links and web sessions, against a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.accounts.auth import AuthService
from core.kernel.clock import ManualClock
from core.kernel.errors import InvalidInput, NotAuthenticated
from core.services import Services
from core.store import Database
from tests.conftest import ALICE, BOB


async def test_a_link_signs_its_member_in_and_leads_to_its_page(services: Services) -> None:
    link = await services.auth.create_login_link(ALICE, "/live/alice/studio")
    assert link.url == f"http://golive.test/login/{link.token}"
    assert link.expires_in == timedelta(minutes=10)

    session, next_path = await services.auth.redeem_login_link(link.token)
    assert next_path == "/live/alice/studio"
    assert await services.auth.identity_for_session(session) == ALICE


async def test_a_link_works_once(services: Services) -> None:
    link = await services.auth.create_login_link(ALICE, "/live")
    await services.auth.redeem_login_link(link.token)
    with pytest.raises(NotAuthenticated, match="already been used or has expired"):
        await services.auth.redeem_login_link(link.token)


async def test_two_racing_clicks_open_exactly_one_session(services: Services) -> None:
    link = await services.auth.create_login_link(ALICE, "/live")
    results = await asyncio.gather(
        *(services.auth.redeem_login_link(link.token) for _ in range(2)), return_exceptions=True
    )
    sessions = [result for result in results if isinstance(result, tuple)]
    refusals = [result for result in results if isinstance(result, NotAuthenticated)]
    assert (len(sessions), len(refusals)) == (1, 1), results
    rows = await services.db.fetch_all("SELECT user_id FROM web_sessions")
    assert [row["user_id"] for row in rows] == [ALICE.user_id]


async def test_two_replicas_racing_on_one_database_open_one_session(
    services: Services, clock: ManualClock
) -> None:
    """A second AuthService on its own connection to the same file: the UPDATE guard still holds."""
    link = await services.auth.create_login_link(ALICE, "/live")
    async with Database.open(services.settings.database.target) as other_db:
        other = AuthService(
            other_db,
            clock,
            secret=services.settings.security.secret or "",
            public_url="http://golive.test",
            link_ttl=timedelta(minutes=10),
            session_ttl=timedelta(days=30),
        )
        results = await asyncio.gather(
            services.auth.redeem_login_link(link.token),
            other.redeem_login_link(link.token),
            return_exceptions=True,
        )
    assert sorted(type(result).__name__ for result in results) == ["NotAuthenticated", "tuple"]
    row = await services.db.fetch_one("SELECT count(*) FROM web_sessions")
    assert row is not None and row[0] == 1


async def test_a_link_expires_after_link_ttl(services: Services, clock: ManualClock) -> None:
    almost = await services.auth.create_login_link(ALICE, "/live")
    late = await services.auth.create_login_link(BOB, "/live")
    clock.advance(10 * 60 - 1)
    session, _ = await services.auth.redeem_login_link(almost.token)
    assert await services.auth.identity_for_session(session) == ALICE
    clock.advance(1)
    with pytest.raises(NotAuthenticated, match="expired"):
        await services.auth.redeem_login_link(late.token)


async def test_unknown_and_odd_tokens_are_refused_not_crashed_on(services: Services) -> None:
    for token in ("", "nope", "x" * 1000, "\ud800", "\udcff", "é"):
        with pytest.raises(NotAuthenticated):
            await services.auth.redeem_login_link(token)
        assert await services.auth.identity_for_session(token) is None


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.com",
        "//evil.com/live",
        "https://evil.com",
        "http://evil.com/live",
        "\\\\evil",
        "/\\evil.com",
        "evil.com",
        "",
        "javascript:alert(1)",
        # Browsers drop tabs and newlines inside URLs: these would become //evil.com.
        "/\t/evil.com",
        "/\n/evil.com",
        "/\r\n/evil.com",
    ],
)
async def test_links_refuse_to_lead_off_site(services: Services, next_path: str) -> None:
    with pytest.raises(InvalidInput, match="page of this site"):
        await services.auth.create_login_link(ALICE, next_path)
    row = await services.db.fetch_one("SELECT count(*) FROM login_links")
    assert row is not None and row[0] == 0


@pytest.mark.parametrize("next_path", ["/", "/live", "/live/alice/studio", "/live?x=1#top"])
async def test_links_may_lead_to_any_page_of_the_site(services: Services, next_path: str) -> None:
    link = await services.auth.create_login_link(ALICE, next_path)
    assert (await services.auth.redeem_login_link(link.token))[1] == next_path


async def test_tokens_are_stored_only_as_keyed_hashes(services: Services) -> None:
    link = await services.auth.create_login_link(ALICE, "/live")
    session, _ = await services.auth.redeem_login_link(link.token)

    dump = []
    for table in ("login_links", "web_sessions"):
        for row in await services.db.fetch_all(f"SELECT * FROM {table}"):  # noqa: S608
            dump.extend(str(value) for value in tuple(row))
    text = "\n".join(dump)
    assert link.token not in text
    assert session not in text

    # The hash is keyed: the same token under another secret is another hash, so a copy of
    # the database cannot be checked against guessed tokens without GOLIVE_SECRET.
    (stored,) = await services.db.fetch_all("SELECT token_hash FROM login_links")
    other = AuthService(
        services.db,
        services.clock,
        secret="another-secret-that-is-long-enough-0000000",
        public_url="http://golive.test",
        link_ttl=timedelta(minutes=10),
        session_ttl=timedelta(days=1),
    )
    assert stored["token_hash"] != other._hash(link.token)
    assert stored["token_hash"] == services.auth._hash(link.token)


async def test_a_database_copy_without_the_secret_signs_nobody_in(services: Services) -> None:
    link = await services.auth.create_login_link(ALICE, "/live")
    session, _ = await services.auth.redeem_login_link(link.token)
    (row,) = await services.db.fetch_all("SELECT token_hash FROM web_sessions")
    # Presenting the stored value itself as a cookie does not work.
    assert await services.auth.identity_for_session(row["token_hash"]) is None
    assert await services.auth.identity_for_session(session) == ALICE


async def test_sessions_expire_after_session_ttl(services: Services, clock: ManualClock) -> None:
    link = await services.auth.create_login_link(ALICE, "/live")
    session, _ = await services.auth.redeem_login_link(link.token)
    assert services.auth.session_ttl == timedelta(days=30)
    clock.advance(timedelta(days=30).total_seconds() - 1)
    assert await services.auth.identity_for_session(session) == ALICE
    clock.advance(1)
    assert await services.auth.identity_for_session(session) is None


async def test_end_session_signs_out_that_session_only(services: Services) -> None:
    sessions = []
    for _ in range(2):  # two browsers
        link = await services.auth.create_login_link(ALICE, "/live")
        sessions.append((await services.auth.redeem_login_link(link.token))[0])
    await services.auth.end_session(sessions[0])
    assert await services.auth.identity_for_session(sessions[0]) is None
    assert await services.auth.identity_for_session(sessions[1]) == ALICE
    await services.auth.end_session(sessions[0])  # signing out twice is harmless


async def test_old_links_are_cleared_out(services: Services, clock: ManualClock) -> None:
    await services.auth.create_login_link(ALICE, "/live")
    clock.advance(timedelta(days=2).total_seconds())
    await services.auth.create_login_link(BOB, "/live")
    rows = await services.db.fetch_all("SELECT user_id FROM login_links")
    assert [row["user_id"] for row in rows] == [BOB.user_id]

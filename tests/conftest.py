"""Shared fixtures: a LiveKit double, a fresh database, the services, the web app, and the bot under
SimCord (the real discord.py against an in-memory Discord) with a guild to act in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from bot.app import GoLiveBot
from core.accounts.auth import Identity
from core.config import RecordingSettings, Settings, load_settings
from core.kernel.clock import ManualClock
from core.services import Services
from golive.bootstrap import attach_bot, open_services
from tests import postgres
from tests.fakes.livekit import FakeLiveKit
from web.app import create_app, server_options
from web.keys import SESSION_COOKIE

ROOT = Path(__file__).resolve().parent.parent
API_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
GOLIVE_SECRET = "golive-test-secret-0123456789-abcdefghijklmnop"


@pytest_asyncio.fixture
async def livekit() -> AsyncIterator[FakeLiveKit]:
    async with FakeLiveKit(api_key="testkey", api_secret=API_SECRET) as fake:
        yield fake


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def postgres_server() -> str | None:
    """On the PostgreSQL pass (GOLIVE_TEST_DATABASE=postgresql), the server's URL."""
    return postgres.server_url() if postgres.ON_POSTGRES else None


@pytest_asyncio.fixture
async def database_environment(
    tmp_path: Path, postgres_server: str | None, request: pytest.FixtureRequest
) -> AsyncIterator[dict[str, str]]:
    """Where a test's golive keeps its data: a SQLite file, or on the PostgreSQL pass a database
    of its own (dropped afterwards). As environment variables, for settings and subprocesses.
    A test marked `sqlite_file` is about SQLite's file itself (a full disk): always SQLite."""
    environment = {"GOLIVE_DATABASE": str(tmp_path / "golive.db")}
    if postgres_server is None or request.node.get_closest_marker("sqlite_file"):
        yield environment
        return
    url = postgres.current_url = await postgres.fresh_database()
    try:
        yield {**environment, "GOLIVE_DATABASE_URL": url}
    finally:
        postgres.current_url = None
        await postgres.drop_database(url)


@pytest.fixture
def settings(database_environment: dict[str, str], livekit: FakeLiveKit) -> Settings:
    return load_settings(
        {
            "GOLIVE_CONFIG": str(ROOT / "config.toml"),
            **database_environment,
            "LIVEKIT_URL": livekit.url,
            "LIVEKIT_API_KEY": livekit.api_key,
            "LIVEKIT_API_SECRET": livekit.api_secret,
            "GOLIVE_SECRET": GOLIVE_SECRET,
            "GOLIVE_PUBLIC_URL": "http://golive.test",
            # SimCord runs an AutoShardedBot only with a known count (Discord's recommendation
            # is asked over the network otherwise); a single shard, as a small community runs.
            "GOLIVE_SHARD_COUNT": "1",
        },
        dotenv_path=None,
    )


@pytest_asyncio.fixture
async def services(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    async with open_services(settings, clock) as opened:
        yield opened


@pytest_asyncio.fixture
async def client(services: Services) -> AsyncIterator[TestClient[object, object]]:
    server = TestServer(create_app(services))
    # The server as the sidecar runs it (TestServer drops options given to its constructor).
    await server.start_server(**server_options())
    async with TestClient(server) as test_client:
        yield test_client


SignIn = Callable[[TestClient[object, object], Identity], Awaitable[None]]


@pytest.fixture
def sign_in(services: Services) -> SignIn:
    """Sign a test client in as `identity` the way a member does: by spending a one-time link."""

    async def sign(test_client: TestClient[object, object], identity: Identity) -> None:
        link = await services.auth.create_login_link(identity, "/live")
        session_token, _ = await services.auth.redeem_login_link(link.token)
        test_client.session.cookie_jar.update_cookies({SESSION_COOKIE: session_token})

    return sign


# Recording to files on the egress server, with a public address for the links.
FILE_RECORDING = RecordingSettings(
    output="file",
    record_all=False,
    file_prefix="recordings/",
    public_url="https://media.golive.test",
    s3_bucket=None,
    s3_region=None,
    s3_endpoint=None,
    s3_access_key=None,
    s3_secret=None,
    s3_force_path_style=False,
)


ALICE = Identity(user_id=1001, username="alice", display_name="Alice")
BOB = Identity(user_id=1002, username="bob", display_name="Bob")


@pytest_asyncio.fixture
async def make_bot(services: Services) -> AsyncIterator[Callable[[], GoLiveBot]]:
    """Builds bots on the same services; a second one stands for the process after a restart."""
    bots: list[GoLiveBot] = []

    def factory() -> GoLiveBot:
        bot = GoLiveBot(services)
        attach_bot(services, bot)
        bots.append(bot)
        return bot

    yield factory
    for bot in bots:
        await bot.close()


@pytest_asyncio.fixture
async def simcord_bot(make_bot: Callable[[], GoLiveBot]) -> GoLiveBot:
    return make_bot()


@dataclass
class World:
    """A guild as a community has it: a general channel, an announcements channel, members;
    and the LiveKit its streams run in."""

    env: Any
    guild: Any
    general: Any
    announcements: Any
    alice: Any
    bob: Any
    admin: Any
    livekit: FakeLiveKit


@pytest_asyncio.fixture
async def world(simcord_env: Any, livekit: FakeLiveKit) -> World:
    # Operators sync on purpose (`golive sync-commands`); the test does it once, as they would.
    await simcord_env.bot.tree.sync()
    guild = simcord_env.create_guild(name="Painters")
    admins = guild.create_role(
        "Admins", permissions=discord.Permissions(manage_guild=True, moderate_members=True)
    )
    return World(
        env=simcord_env,
        guild=guild,
        general=guild.create_text_channel("general"),
        announcements=guild.create_text_channel("announcements"),
        alice=guild.add_member(simcord_env.create_user("alice", global_name="Alice")),
        bob=guild.add_member(simcord_env.create_user("bob")),
        admin=guild.add_member(simcord_env.create_user("admin"), roles=[admins]),
        livekit=livekit,
    )

"""`golive migrate --from-sqlite PATH`: a community built up on SQLite through the services, copied
into an empty PostgreSQL database: the same rows, the same books, ids that go on after the copied
ones, a golive that works on it afterwards; and the refusals (a target holding data, a SQLite URL,
a file that is not a golive database)."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from core.accounts import Identity
from core.chat.service import ChatAuthor
from core.config import Settings, load_settings
from core.money import Ledger
from core.services import Services
from core.store import Database
from core.streams.service import StreamDraft
from golive import migrate_sqlite
from golive.bootstrap import open_services
from golive.migrate_sqlite import migrate_from_sqlite
from tests import postgres
from tests.conftest import ALICE, BOB, GOLIVE_SECRET, ROOT
from tests.core.config.test_settings import run_cli as run_cli_process
from tests.fakes.livekit import FakeLiveKit
from tests.studio import go_live_with_video

CAROL = Identity(user_id=1003, username="carol", display_name="Carol")
MODERATOR = 9001


def settings_for(database: dict[str, str], livekit: FakeLiveKit) -> Settings:
    return load_settings(
        {
            "GOLIVE_CONFIG": str(ROOT / "config.toml"),
            **database,
            "LIVEKIT_URL": livekit.url,
            "LIVEKIT_API_KEY": livekit.api_key,
            "LIVEKIT_API_SECRET": livekit.api_secret,
            "GOLIVE_SECRET": GOLIVE_SECRET,
            "GOLIVE_PUBLIC_URL": "http://golive.test",
        },
        dotenv_path=None,
    )


async def build_community(services: Services, livekit: FakeLiveKit) -> None:
    """Streams (one placed), sessions live and ended, credits, tips and a refund, chat, follows,
    a sanction and a report: what a community's file holds after a while."""
    for person, title, place in (
        (ALICE, "Painting live", ("Lyon", 45.76, 4.84)),
        (BOB, "Bob plays", None),
    ):
        draft = StreamDraft(title=title)
        if place is not None:
            draft = StreamDraft(
                title=title, location_name=place[0], latitude=place[1], longitude=place[2]
            )
        await services.streams.create(
            owner_id=person.user_id,
            username=person.username,
            display_name=person.display_name,
            draft=draft,
        )
    await go_live_with_video(services, livekit, BOB.user_id)
    await services.streams.end(BOB.user_id)
    alice_stream = await go_live_with_video(services, livekit, ALICE.user_id)
    for donor in (BOB, CAROL):
        await services.ledger.grant(
            donor.user_id, 500, moderator_id=MODERATOR, reason="launch", key=f"fund-{donor.user_id}"
        )
    tips = [
        await services.tips.tip_stream(donor, alice_stream.id, amount, "lovely", f"tip-{n}")
        for n, (donor, amount) in enumerate([(BOB, 25), (CAROL, 40), (BOB, 10)])
    ]
    await services.tips.refund(tips[2].tip.id, MODERATOR, "sent by mistake")
    for n in range(5):
        author = ChatAuthor(CAROL.user_id if n % 2 else BOB.user_id, "carol" if n % 2 else "bob")
        await services.chat.post(alice_stream, author, f"hello {n}", ip=f"10.0.0.{n}")
    await services.follows.follow(CAROL.user_id, ALICE.user_id)
    await services.moderation.timeout(
        moderator_id=MODERATOR, user_id=CAROL.user_id, duration=timedelta(minutes=5), reason="spam"
    )
    await services.auth.create_login_link(CAROL, "/live")
    await services.events.drain()


@pytest_asyncio.fixture
async def community_file(tmp_path: Path, livekit: FakeLiveKit) -> Path:
    path = tmp_path / "community.db"
    async with open_services(settings_for({"GOLIVE_DATABASE": str(path)}, livekit)) as services:
        await build_community(services, livekit)
    return path


@pytest.fixture(scope="session")
def postgres_reachable() -> str:
    """Found (or started) before any event loop runs: finding it runs a loop of its own."""
    return postgres.server_url()


@pytest_asyncio.fixture
async def empty_postgres(postgres_reachable: str) -> AsyncIterator[str]:
    url = await postgres.empty_database()
    try:
        yield url
    finally:
        await postgres.drop_database(url)


async def run_cli(args: list[str], environment: dict[str, str], cwd: Path) -> tuple[int, str]:
    done = await asyncio.to_thread(run_cli_process, args, environment, cwd)
    return done.returncode, done.stdout + done.stderr


def cli_environment(url: str) -> dict[str, str]:
    return {
        "GOLIVE_DATABASE_URL": url,
        "GOLIVE_CONFIG": str(ROOT / "config.toml"),
        "GOLIVE_SECRET": GOLIVE_SECRET,
    }


def sqlite_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return [tuple(row) for row in connection.execute(sql)]


async def postgres_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    connection = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()


async def test_a_community_is_copied_whole_with_its_books(
    community_file: Path, empty_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tables copied in several chunks, as a big community's are.
    monkeypatch.setattr(migrate_sqlite, "CHUNK_ROWS", 2)

    copied = await migrate_from_sqlite(community_file, empty_postgres)

    counts = {table.name: table.source_rows for table in copied.tables}
    assert all(table.ok for table in copied.tables)
    assert counts["streams"] == 2
    assert counts["stream_sessions"] == 2
    assert counts["tips"] == 3
    assert counts["chat_messages"] == 5
    assert counts["sanctions"] == 1
    for table, expected in counts.items():
        count = f'SELECT count(*) FROM "{table}"'  # noqa: S608 - the catalog's names
        assert await postgres_rows(empty_postgres, count) == [(expected,)], table
    assert "stream_places" in copied.skipped
    assert copied.ledger is not None and copied.ledger.ok
    assert copied.ledger.accounts >= 7  # four platform accounts, three wallets
    balances = "SELECT id, member_id, platform, balance FROM ledger_accounts ORDER BY id"
    assert await postgres_rows(empty_postgres, balances) == sqlite_rows(community_file, balances)
    entries = "SELECT id, transaction_id, account_id, amount, note FROM ledger_entries ORDER BY id"
    assert await postgres_rows(empty_postgres, entries) == sqlite_rows(community_file, entries)
    chat = "SELECT id, stream_id, author_id, body FROM chat_messages ORDER BY id"
    assert await postgres_rows(empty_postgres, chat) == sqlite_rows(community_file, chat)
    # The stream counts came over as the file had them: the insert triggers were off.
    counts_sql = "SELECT name, value FROM discovery_counts ORDER BY name"
    assert await postgres_rows(empty_postgres, counts_sql) == sqlite_rows(
        community_file, counts_sql
    )
    # ...and are on again.
    triggers = "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'"
    assert await postgres_rows(empty_postgres, triggers) == [(0,)]


async def test_golive_works_on_the_copy_and_new_rows_get_new_ids(
    community_file: Path, empty_postgres: str, livekit: FakeLiveKit
) -> None:
    copied = await migrate_from_sqlite(community_file, empty_postgres)
    settings = settings_for({"GOLIVE_DATABASE_URL": empty_postgres}, livekit)
    alice_stream = sqlite_rows(community_file, "SELECT id FROM streams WHERE slug = 'alice'")[0][0]

    async with open_services(settings) as services:
        stream = await services.streams.get_by_slug("alice")
        assert stream.id == alice_stream and stream.active
        assert [m.body for m in await services.chat.history(stream, limit=10)] == [
            f"hello {n}" for n in range(5)
        ]
        assert (await services.ledger.balance(BOB.user_id)) == 500 - 25
        outcome = await services.tips.tip_stream(CAROL, stream.id, 15, "", "after-the-move")
        assert outcome.tip.id == copied.next_ids["tips"]
        message = await services.chat.post(stream, ChatAuthor(BOB.user_id, "bob"), "still here")
        assert message.id == copied.next_ids["chat_messages"]
        sanction = await services.moderation.timeout(
            moderator_id=MODERATOR, user_id=BOB.user_id, duration=timedelta(minutes=1)
        )
        assert sanction.id == copied.next_ids["sanctions"]
        created = await services.streams.create(
            owner_id=CAROL.user_id,
            username=CAROL.username,
            display_name=CAROL.display_name,
            draft=StreamDraft(title="Carol's corner"),
        )
        assert created.id == copied.next_ids["streams"]
        assert await Ledger(services.db, services.clock).check_books() == []


async def test_a_target_holding_data_is_refused_and_left_alone(
    community_file: Path, empty_postgres: str, tmp_path: Path
) -> None:
    await migrate_from_sqlite(community_file, empty_postgres)
    before = await postgres_rows(empty_postgres, "SELECT count(*) FROM chat_messages")

    code, output = await run_cli(
        ["migrate", "--from-sqlite", str(community_file)],
        cli_environment(empty_postgres),
        tmp_path,
    )

    assert code == 2, output
    assert "already holds data" in output and "Traceback" not in output
    assert await postgres_rows(empty_postgres, "SELECT count(*) FROM chat_messages") == before


async def test_the_command_copies_and_prints_what_it_checked(
    community_file: Path, empty_postgres: str, tmp_path: Path
) -> None:
    code, output = await run_cli(
        ["migrate", "--from-sqlite", str(community_file)],
        cli_environment(empty_postgres),
        tmp_path,
    )

    assert code == 0, output
    assert "ledger:" in output and "every account's entries sum to its balance" in output
    assert any(line.split()[:4] == ["tips", "3", "3", "equal"] for line in output.splitlines())


async def test_a_sqlite_target_is_refused_in_one_line(community_file: Path, tmp_path: Path) -> None:
    code, output = await run_cli(
        ["migrate", "--from-sqlite", str(community_file)],
        {"GOLIVE_DATABASE": str(tmp_path / "other.db"), "GOLIVE_CONFIG": str(ROOT / "config.toml")},
        tmp_path,
    )

    assert code == 2, output
    assert "copies into PostgreSQL" in output and "Traceback" not in output


@pytest.mark.parametrize("contents", [None, b"not a database at all, just some bytes" * 100])
async def test_a_path_that_is_no_golive_database_is_refused(
    empty_postgres: str, tmp_path: Path, contents: bytes | None
) -> None:
    path = tmp_path / "nothing.db"
    if contents is not None:
        path.write_bytes(contents)

    code, output = await run_cli(
        ["migrate", "--from-sqlite", str(path)],
        cli_environment(empty_postgres),
        tmp_path,
    )

    assert code == 2, output
    assert str(path) in output and "Traceback" not in output
    async with Database.open(empty_postgres) as db:
        assert await db.fetch_all("SELECT id FROM streams") == []


async def test_a_postgresql_that_does_not_answer_is_one_line_and_exit_1(
    community_file: Path, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    code, output = await run_cli(
        ["migrate", "--from-sqlite", str(community_file)],
        cli_environment(f"postgresql://postgres@127.0.0.1:{port}/nowhere"),
        tmp_path,
    )

    assert code == 1, output
    assert "can't reach PostgreSQL" in output and "Traceback" not in output
    assert len(output.strip().splitlines()) == 1

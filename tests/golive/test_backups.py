"""`golive backup` during a burst of tips gives a copy that opens, passes SQLite's integrity
check and whose books balance; `golive restore` refuses to replace a database without --force."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from core.accounts import Identity
from core.config import load_settings
from core.kernel.clock import ManualClock
from core.money import Ledger
from core.store import Database
from core.streams.service import StreamDraft
from golive.bootstrap import open_services
from tests.conftest import ALICE, GOLIVE_SECRET, ROOT
from tests.core.config.test_settings import run_cli
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment, settings_of
from tests.golive.session import sign_in
from web.keys import SESSION_COOKIE

DONORS = [Identity(2000 + n, f"donor{n}", f"Donor {n}") for n in range(4)]
CREDITS = 5_000
TIP = 10
TIPS_BEFORE_BACKUP = 20
MAX_TIPS_EACH = 150


async def prepare(environment: dict[str, str]) -> list[str]:
    async with open_services(settings_of(environment)) as services:
        await services.streams.create(
            owner_id=ALICE.user_id,
            username=ALICE.username,
            display_name=ALICE.display_name,
            draft=StreamDraft(title="Painting live"),
        )
        await services.streams.go_live(ALICE.user_id)
        sessions = []
        for donor in DONORS:
            await services.ledger.grant(
                donor.user_id, CREDITS, moderator_id=1, reason="test", key=f"fund-{donor.user_id}"
            )
            sessions.append(await sign_in(services, donor))
        return sessions


async def tipper(url: str, session: str, name: str, burst: Burst) -> None:
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: session}) as http:
        for n in range(MAX_TIPS_EACH):
            if burst.done.is_set():
                return
            body = {"amount": TIP, "message": "", "requestId": f"{name}-tip-{n:04d}"}
            async with http.post(f"{url}/api/live/alice/tip", json=body) as response:
                assert response.status == 201, await response.text()
            burst.tipped.append(body["requestId"])
            if len(burst.tipped) >= TIPS_BEFORE_BACKUP:
                burst.enough.set()


@dataclass
class Burst:
    tipped: list[str] = field(default_factory=list)
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def golive_cli(args: list[str], environment: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await GoliveProcess.start(args, environment, cwd=cwd)
    code = await process.wait(within=60)
    return code, process.log


async def books_of(path: Path) -> tuple[list[str], int, int]:
    """(problems, sum of every balance, tips) of a database file."""
    async with Database.open(path) as db:
        problems = await Ledger(db, ManualClock()).check_books()
        total = await db.fetch_one("SELECT coalesce(sum(balance), 0) FROM ledger_accounts")
        tips = await db.fetch_one("SELECT count(*) FROM tips")
    assert total is not None and tips is not None
    return problems, total[0], tips[0]


async def test_a_backup_taken_during_a_burst_of_tips_is_whole_and_balances(
    tmp_path: Path, livekit: FakeLiveKit
) -> None:
    environment = golive_environment(tmp_path, livekit)
    sessions = await prepare(environment)
    golive = await GoliveProcess.start(["web"], environment, cwd=tmp_path)
    burst = Burst()
    tipped = burst.tipped
    try:
        url = await golive.listening()
        tippers = [
            asyncio.create_task(tipper(url, session, f"d{n}", burst))
            for n, session in enumerate(sessions)
        ]
        async with asyncio.timeout(30):
            await burst.enough.wait()
        tipped_before = len(tipped)
        (tmp_path / "backups").mkdir()
        code, output = await golive_cli(
            ["backup", str(tmp_path / "backups")], environment, tmp_path
        )
        tipped_during = len(tipped) - tipped_before
        burst.done.set()
        await asyncio.gather(*tippers)
        assert await golive.stop(signal.SIGTERM) == 0
    finally:
        await golive.kill()

    assert code == 0, output
    assert "integrity check ok" in output
    assert tipped_during > 0  # the burst went on while the copy was made
    [copy] = list((tmp_path / "backups").glob("golive-*.db"))
    with contextlib.closing(sqlite3.connect(copy)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    problems, total, tips_in_copy = await books_of(copy)
    assert problems == [] and total == 0  # double entry: every credit came from somewhere
    assert tipped_before <= tips_in_copy <= len(tipped)
    live_problems, _, tips_live = await books_of(tmp_path / "golive.db")
    assert live_problems == [] and tips_live == len(tipped)


def cli_env(database: Path) -> dict[str, str]:
    return {"GOLIVE_CONFIG": str(ROOT / "config.toml"), "GOLIVE_DATABASE": str(database)}


async def make_database(database: Path, pages: int) -> None:
    settings = load_settings(
        {**cli_env(database), "GOLIVE_SECRET": GOLIVE_SECRET}, dotenv_path=None
    )
    async with open_services(settings) as services:
        for n in range(pages):
            await services.streams.create(
                owner_id=3000 + n,
                username=f"user{n}",
                display_name=f"User {n}",
                draft=StreamDraft(title="Show"),
            )


def pages_in(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return int(db.execute("SELECT count(*) FROM streams").fetchone()[0])


async def test_restore_refuses_to_replace_a_database_without_force(tmp_path: Path) -> None:
    live, saved = tmp_path / "data" / "golive.db", tmp_path / "saved.db"
    await make_database(live, pages=3)
    await make_database(saved, pages=1)
    result = run_cli(["restore", str(saved)], cli_env(live))
    assert result.returncode == 1
    assert "already holds a database (3 stream page(s)" in result.stderr
    assert "--force" in result.stderr
    assert pages_in(live) == 3


async def test_restore_with_force_replaces_it_and_keeps_the_old_one(tmp_path: Path) -> None:
    live, saved = tmp_path / "data" / "golive.db", tmp_path / "saved.db"
    await make_database(live, pages=3)
    await make_database(saved, pages=1)
    result = run_cli(["restore", str(saved), "--force"], cli_env(live))
    assert result.returncode == 0, result.stderr
    assert pages_in(live) == 1
    [kept] = list(live.parent.glob("golive.db.before-restore-*"))
    assert pages_in(kept) == 3


async def test_a_backup_restores_where_there_is_no_database(tmp_path: Path) -> None:
    original = tmp_path / "old" / "golive.db"
    await make_database(original, pages=2)
    copied = run_cli(["backup", str(tmp_path / "copy.db")], cli_env(original))
    assert copied.returncode == 0, copied.stderr
    fresh = tmp_path / "new" / "golive.db"
    restored = run_cli(["restore", str(tmp_path / "copy.db")], cli_env(fresh))
    assert restored.returncode == 0, restored.stderr
    assert pages_in(fresh) == 2


def test_something_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("not a database", encoding="utf-8")
    result = run_cli(["restore", str(junk)], cli_env(tmp_path / "golive.db"))
    assert result.returncode == 1 and "is not a golive database" in result.stderr
    assert not (tmp_path / "golive.db").exists()

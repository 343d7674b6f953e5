"""When the database can't take a write: another process holds its write lock, or the disk is full.

Real processes both times: a child that holds `BEGIN IMMEDIATE` on the same SQLite file, and a
child `golive web` whose file-size limit stands for a full disk. Writes answer 503 with a JSON
error and Retry-After within the configured wait, nothing is half-written, reads and /healthz
answer at once, and once the trouble passes the same requests succeed without a restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import socket
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from core.config.settings import Settings
from core.kernel.clock import ManualClock
from core.services import Services
from tests.conftest import ALICE, BOB, GOLIVE_SECRET, ROOT, SignIn
from tests.core.money.test_ledger import fund, page
from tests.core.store.lock_holder import write_lock_held
from tests.fakes.livekit import FakeLiveKit
from web.keys import SESSION_COOKIE

Client = TestClient[Any, Any]
BUSY_SECONDS = 1

# `golive web` with a file-size limit: every write to the database's files fails as on a full
# disk (EFBIG instead of ENOSPC; SIGXFSZ ignored, as the kernel then just fails the write). Only
# the soft limit is lowered, so the test can lift it again ("space freed") from outside.
FULL_DISK_WEB = """
import resource, signal, sys
from golive.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
sys.exit(main(["web"]))
"""


@pytest.fixture
def clock() -> ManualClock:
    # The child `golive web` runs on the system clock: sessions made here must be valid there.
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Writes wait at most BUSY_SECONDS for another process's lock."""
    database = dataclasses.replace(settings.database, busy_timeout=timedelta(seconds=BUSY_SECONDS))
    return dataclasses.replace(settings, database=database)


async def tip_count(services: Services) -> int:
    row = await services.db.fetch_one("SELECT COUNT(*) FROM tips")
    assert row is not None
    return int(row[0])


async def timed(request: Any) -> tuple[aiohttp.ClientResponse, float]:
    started = time.monotonic()
    response = await request
    await response.read()
    return response, time.monotonic() - started


async def test_a_write_lock_held_elsewhere_is_a_503_and_reads_do_not_wait(
    services: Services,
    client: Client,
    sign_in: SignIn,
    settings: Settings,
) -> None:
    await page(services, ALICE)
    live = await services.streams.go_live(ALICE.user_id)
    await fund(services, BOB, 100)
    await sign_in(client, BOB)
    async with write_lock_held(settings.database.target) as lock:
        await refused_while_locked(services, client, live.stream.room_name)
        await lock.release()
    await until_healthy(client.session, client.make_url("/healthz"))
    tip_body = {"amount": 20, "message": "gg", "requestId": "req-00000001"}
    retried = await client.post("/api/live/alice/tip", json=tip_body)
    assert retried.status == 201
    assert await tip_count(services) == 1
    assert (await client.post("/api/live/alice/chat", json={"text": "hi"})).status == 201


async def refused_while_locked(services: Services, client: Client, room: str | None) -> None:
    tip_body = {"amount": 20, "message": "gg", "requestId": "req-00000001"}
    tip = asyncio.create_task(timed(client.post("/api/live/alice/tip", json=tip_body)))
    chat = asyncio.create_task(timed(client.post("/api/live/alice/chat", json={"text": "hi"})))
    viewer = {"roomName": room, "role": "viewer"}
    # While they wait (at least BUSY_SECONDS), a guest's token, /healthz and the watch page
    # answer again and again, each at once.
    rounds = 0
    async with aiohttp.ClientSession() as guest:
        while not tip.done():
            answers = [
                await timed(guest.post(client.make_url("/api/live/token"), json=viewer)),
                await timed(guest.get(client.make_url("/healthz"))),
                await timed(guest.get(client.make_url("/live/alice"))),
            ]
            token, health, watch = (response.status for response, _ in answers)
            # /healthz turns 503 once the first of the two writes has been refused.
            assert (token, watch) == (200, 200) and health in (200, 503)
            assert max(seconds for _, seconds in answers) < 0.5
            rounds += 1
    assert rounds >= 3

    for refused, seconds in (await tip, await chat):
        assert refused.status == 503
        assert "try again" in (await refused.json())["error"]
        assert int(refused.headers["Retry-After"]) >= 1
        assert seconds < 2 * BUSY_SECONDS + 1
    assert await tip_count(services) == 0
    assert await services.ledger.balance(BOB.user_id) == 100
    unhealthy = await client.get("/healthz")
    assert unhealthy.status == 503
    assert (await unhealthy.json())["storage"].startswith("not writable")


async def until_healthy(http: aiohttp.ClientSession, url: Any) -> None:
    """/healthz turns 200 by itself (it rechecks in the background), before anyone writes."""
    async with asyncio.timeout(10):
        while True:
            async with http.get(url) as response:
                if response.status == 200:
                    assert (await response.json())["storage"] == "writable"
                    return
                assert response.status == 503


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_until_serving(base: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(30):
        while process.returncode is None:
            try:
                async with http.get(f"{base}/healthz") as response:
                    await response.read()
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"golive web exited with {process.returncode}")


def checkpoint(path: Path) -> None:
    """Move everything into the database file, so the child's first write is a fresh one."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.mark.sqlite_file  # PostgreSQL's disk is the server's: its 53100 is "failing" too
async def test_a_full_disk_makes_writes_503_and_healthz_say_so_until_space_is_back(
    services: Services, settings: Settings, livekit: FakeLiveKit
) -> None:
    await page(services, ALICE)
    await services.streams.go_live(ALICE.user_id)
    await fund(services, BOB, 100)
    link = await services.auth.create_login_link(BOB, "/live")
    session_token, _ = await services.auth.redeem_login_link(link.token)
    checkpoint(settings.database.path)
    # `services` stays open: its connection keeps the WAL index in place for the child.
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "GOLIVE_CONFIG": str(ROOT / "config.toml"),
        "GOLIVE_DATABASE": str(settings.database.path),
        "GOLIVE_SECRET": GOLIVE_SECRET,
        "GOLIVE_WEB_PORT": str(port),
        "LIVEKIT_URL": livekit.url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FULL_DISK_WEB,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_token}"}
    tip_body = {"amount": 20, "message": "gg", "requestId": "req-00000002"}
    try:
        await wait_until_serving(base, process)
        async with aiohttp.ClientSession(headers=cookie) as http:
            tip = await http.post(f"{base}/api/live/alice/tip", json=tip_body)
            assert tip.status == 503
            assert "try again" in (await tip.json())["error"]
            assert int(tip.headers["Retry-After"]) > 0
            chat = await http.post(f"{base}/api/live/alice/chat", json={"text": "hi"})
            assert chat.status == 503
            health = await http.get(f"{base}/healthz")
            assert health.status == 503
            assert (await health.json())["storage"].startswith("not writable")
            watch = await http.get(f"{base}/live/alice")
            assert watch.status == 200  # reads still work
            assert await tip_count(services) == 0
            assert await services.ledger.balance(BOB.user_id) == 100

            # Space is freed: the same process writes again, without a restart.
            assert process.pid is not None
            resource.prlimit(
                process.pid,
                resource.RLIMIT_FSIZE,
                (resource.RLIM_INFINITY, resource.RLIM_INFINITY),
            )
            # /healthz turns green by itself (it rechecks in the background), before any write.
            await until_healthy(http, f"{base}/healthz")
            retried = await http.post(f"{base}/api/live/alice/tip", json=tip_body)
            assert retried.status == 201
        assert await tip_count(services) == 1
    finally:
        process.terminate()
        _, stderr = await process.communicate()
    log = stderr.decode()
    assert "Traceback" not in log, log
    assert " 500 " not in log and "unhandled error" not in log, log

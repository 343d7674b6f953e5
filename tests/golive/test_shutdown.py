"""SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C) stop golive gracefully: a real `golive web`
process under chat load, with a go-live in flight, exits 0, and every write it acknowledged is
in the database afterwards, and nothing it started writing is left unanswered."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from core.accounts import Identity
from core.streams.service import StreamDraft
from golive.bootstrap import open_services
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment, settings_of
from web.keys import SESSION_COOKIE

WORKERS = 6
MESSAGES_BEFORE_STOP = 40  # acknowledged chat messages before the signal: the load is real
MAX_PER_WORKER = 400  # bounds the load whatever happens


@dataclass
class Load:
    acknowledged: set[str] = field(default_factory=set)
    refused_after_stop: int = 0
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    failures: list[str] = field(default_factory=list)


async def make_page(settings_env: dict[str, str], identity: Identity, live: bool) -> str:
    """A stream page (live or not) and a signed-in session for its owner, made before start."""
    async with open_services(settings_of(settings_env)) as services:
        await services.streams.create(
            owner_id=identity.user_id,
            username=identity.username,
            display_name=identity.display_name,
            draft=StreamDraft(title=f"{identity.display_name} paints"),
        )
        if live:
            await services.streams.go_live(identity.user_id)
        link = await services.auth.create_login_link(identity, "/live")
        session, _ = await services.auth.redeem_login_link(link.token)
    return session


async def chat_worker(http: aiohttp.ClientSession, url: str, number: int, load: Load) -> None:
    for sequence in range(MAX_PER_WORKER):
        text = f"load {number}-{sequence}"
        try:
            async with http.post(
                f"{url}/api/live/bob/chat", json={"text": text, "name": f"guest{number}"}
            ) as response:
                if response.status != 201:
                    load.failures.append(f"{text}: {response.status} {await response.text()}")
                    return
                await response.read()
        except aiohttp.ClientError as error:
            # Once the server stops accepting, a new request finds the door closed.
            if load.stopping.is_set():
                load.refused_after_stop += 1
                return
            load.failures.append(f"{text}: {error!r} before any signal")
            return
        load.acknowledged.add(text)
        if len(load.acknowledged) >= MESSAGES_BEFORE_STOP:
            load.enough.set()
    load.failures.append(f"worker {number} sent {MAX_PER_WORKER} messages and never saw the stop")


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_under_load_loses_no_acknowledged_write_and_cuts_no_request(
    tmp_path: Path, livekit: FakeLiveKit, signal_number: int
) -> None:
    environment = golive_environment(
        tmp_path,
        livekit,
        GOLIVE_CHAT_ALLOW_GUESTS="true",
        GOLIVE_CHAT_PERSON_BURST="1000",
        GOLIVE_CHAT_PERSON_PER_MINUTE="60000",
        GOLIVE_CHAT_IP_BURST="10000",
        GOLIVE_CHAT_IP_PER_MINUTE="600000",
        GOLIVE_SHUTDOWN_GRACE_SECONDS="10",
    )
    await make_page(environment, BOB, live=True)
    alice_session = await make_page(environment, ALICE, live=False)
    livekit.requests.clear()
    golive = await GoliveProcess.start(["web"], environment, cwd=tmp_path)
    try:
        url = await golive.listening()
        load = Load()
        connector = aiohttp.TCPConnector(limit=WORKERS + 1)
        async with aiohttp.ClientSession(connector=connector) as http:
            workers = [
                asyncio.create_task(chat_worker(http, url, number, load))
                for number in range(WORKERS)
            ]
            async with asyncio.timeout(30):
                await load.enough.wait()
            # A go-live that LiveKit takes its time over is in flight when the signal comes.
            livekit.slow(1.5)
            go_live = asyncio.create_task(
                http.post(
                    f"{url}/api/live/toggle-active",
                    json={"active": True},
                    cookies={SESSION_COOKIE: alice_session},
                )
            )
            async with asyncio.timeout(10):
                await livekit.called("CreateRoom")
            load.stopping.set()
            golive.process.send_signal(signal_number)
            async with await go_live as answer:
                go_live_status, stream = answer.status, await answer.json()
            await asyncio.gather(*workers)
        exit_code = await golive.wait(within=30)
    finally:
        await golive.kill()

    assert load.failures == []
    assert exit_code == 0, golive.log
    assert go_live_status == 200 and stream["active"] is True
    assert load.refused_after_stop > 0  # the load was still running when the signal came
    assert f"{signal.Signals(signal_number).name} received: stopping" in golive.log
    assert "golive stopped" in golive.log
    with sqlite3.connect(tmp_path / "golive.db") as db:
        stored = {row[0] for row in db.execute("SELECT body FROM chat_messages")}
        alice_active = db.execute("SELECT active FROM streams WHERE slug = 'alice'").fetchone()[0]
    # Every acknowledged message is stored, and nothing was stored that wasn't answered.
    assert stored == load.acknowledged
    assert alice_active == 1

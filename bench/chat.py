"""Chat messages per second through the whole path, in one process.

Each message goes through ChatService.post: flood buckets, the one-query author check (bans,
timeouts, slow mode, last message, moderator), the text rules, one INSERT in a BEGIN IMMEDIATE
transaction on a real SQLite file (WAL, synchronous=NORMAL), then SendData to the LiveKit double
over HTTP with livekit-api (a fresh JWT per call), batched per room while a send is in flight.
The double runs in the same event loop, so its work is counted too.

Modes: one message after another (latency floor, no batching), then --concurrency posters at
once (a busy room), both calling the service; then the same through HTTP (POST
/api/live/<slug>/chat on the real aiohttp app, one signed-in session per viewer), which adds
request parsing, the session lookup and JSON. Prints msg/s, p50/p99 latency and how many
SendData packets carried them.
Usage: .venv/bin/python bench/chat.py [--messages 10000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from core.accounts.auth import Identity  # noqa: E402
from core.chat.service import ChatAuthor  # noqa: E402
from core.config.settings import load_settings  # noqa: E402
from core.kernel.clock import SystemClock  # noqa: E402
from core.services import Services  # noqa: E402
from core.streams.service import Stream, StreamDraft  # noqa: E402
from golive.bootstrap import open_services  # noqa: E402
from tests.fakes.livekit import FakeLiveKit  # noqa: E402
from web.app import create_app  # noqa: E402
from web.keys import SESSION_COOKIE  # noqa: E402

SECRET = "bench-livekit-secret-0123456789abcdef0123"  # noqa: S105 - a throwaway test double


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(
    services: Services, stream: Stream, livekit: FakeLiveKit, messages: int, concurrency: int
) -> None:
    latencies: list[float] = []
    packets_before = len(livekit.sent_data)
    authors = [ChatAuthor(10_000 + n, f"viewer{n}") for n in range(max(concurrency, 100))]

    async def poster(worker: int) -> None:
        for n in range(worker, messages, concurrency):
            author = authors[n % len(authors)]
            t0 = time.perf_counter()
            await services.chat.post(
                stream, author, f"message {n} from {author.name}", ip=f"10.0.{n % 250}.1"
            )
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(poster(w) for w in range(concurrency)))
    # The room packets go out in the background: the whole path ends when they are sent.
    await services.events.drain()
    elapsed = time.perf_counter() - started
    sent = livekit.sent_data[packets_before:]
    delivered = sum(len(json.loads(s.text)["events"]) for s in sent)
    assert delivered == messages, (delivered, messages)
    print(
        f"concurrency {concurrency:>3}: {messages / elapsed:8.0f} msg/s"
        f"  p50 {statistics.median(latencies) * 1000:6.2f} ms"
        f"  p99 {percentile(latencies, 0.99) * 1000:6.2f} ms"
        f"  {len(sent)} SendData packets ({messages / max(1, len(sent)):.1f} msg/packet)"
    )


async def run_http(
    services: Services, stream: Stream, livekit: FakeLiveKit, messages: int, concurrency: int
) -> None:
    cookies = []
    for n in range(concurrency):
        identity = Identity(20_000 + n, f"web{n}", f"Web {n}")
        link = await services.auth.create_login_link(identity, "/live")
        token, _ = await services.auth.redeem_login_link(link.token)
        cookies.append(f"{SESSION_COOKIE}={token}")
    latencies: list[float] = []
    packets_before = len(livekit.sent_data)
    server = TestServer(create_app(services), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url(f"/api/live/{stream.slug}/chat"))
    try:
        async with aiohttp.ClientSession() as http:

            async def poster(worker: int) -> None:
                headers = {"Cookie": cookies[worker]}
                for n in range(worker, messages, concurrency):
                    t0 = time.perf_counter()
                    async with http.post(url, json={"text": f"web {n}"}, headers=headers) as r:
                        assert r.status == 201, await r.text()
                    latencies.append(time.perf_counter() - t0)

            started = time.perf_counter()
            await asyncio.gather(*(poster(w) for w in range(concurrency)))
            elapsed = time.perf_counter() - started
    finally:
        await server.close()
    sent = livekit.sent_data[packets_before:]
    print(
        f"HTTP, {concurrency:>3} clients: {messages / elapsed:8.0f} msg/s"
        f"  p50 {statistics.median(latencies) * 1000:6.2f} ms"
        f"  p99 {percentile(latencies, 0.99) * 1000:6.2f} ms"
        f"  {len(sent)} SendData packets ({messages / max(1, len(sent)):.1f} msg/packet)"
    )


async def main(messages: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with FakeLiveKit(api_key="benchkey", api_secret=SECRET) as livekit:
            settings = load_settings(
                {
                    "GOLIVE_CONFIG": str(ROOT / "config.toml"),
                    "GOLIVE_DATABASE": str(Path(folder) / "bench.db"),
                    "LIVEKIT_URL": livekit.url,
                    "LIVEKIT_API_KEY": livekit.api_key,
                    "LIVEKIT_API_SECRET": livekit.api_secret,
                    "GOLIVE_SECRET": "bench-golive-secret-0123456789-abcdefghij",
                },
                dotenv_path=None,
            )
            # Many distinct viewers; flood limits are not what is measured here.
            chat = dataclasses.replace(
                settings.chat,
                person_burst=1000,
                person_per_minute=600_000,
                ip_burst=10_000,
                ip_per_minute=600_000,
            )
            settings = dataclasses.replace(settings, chat=chat)
            async with open_services(settings, SystemClock()) as services:
                stream = await services.streams.create(
                    owner_id=1, username="alice", display_name="Alice", draft=StreamDraft("Bench")
                )
                stream = (await services.streams.go_live(stream.owner_id)).stream
                await run(services, stream, livekit, max(500, messages // 10), 1)
                await run(services, stream, livekit, messages, concurrency)
                await run_http(services, stream, livekit, messages, concurrency)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.messages, arguments.concurrency))

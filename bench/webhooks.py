"""Signed LiveKit webhook events per second through verification, dedupe and storage.

One process, one core: each event goes the way POST /livekit/webhook takes it (web/webhooks.py)
minus HTTP parsing: livekit-api's WebhookReceiver checks the JWT and the body's sha256 and parses
the protojson, then WebhookInbox dedupes it by id and applies it in one SQLite transaction
(room_participants, session_audience, peak, unique viewers, per-minute samples). The database is
a temporary file in WAL mode, as in production.

The events are what a busy stream produces: viewers joining and leaving one live room, the
broadcaster's tracks, and 10 % repeats (LiveKit redelivering). They are signed beforehand exactly
as livekit-server signs them (tests/fakes/livekit.py), so signing is not measured.

Printed per round: events/s for verification alone, and for the whole path (sequential, and with
50 deliveries in flight as aiohttp would run them), plus CPU µs per event. Target: ≥ 3,000/s.

Usage: .venv/bin/python bench/webhooks.py [--events 6000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from livekit import api  # noqa: E402

from core.config.settings import load_settings  # noqa: E402
from core.kernel.clock import ManualClock  # noqa: E402
from core.services import Services  # noqa: E402
from core.streams.service import StreamDraft  # noqa: E402
from golive.bootstrap import open_services  # noqa: E402
from tests.fakes.livekit import FakeLiveKit  # noqa: E402

API_KEY = "benchkey"
API_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"  # noqa: S105 - bench only
OWNER = 4242
IN_FLIGHT = 50


def signed_events(livekit: FakeLiveKit, room: str, count: int) -> list[tuple[str, str]]:
    """(body, Authorization) pairs of a stream's life: joins, leaves, tracks, some repeats."""
    rng = random.Random(7)
    host = f"host-{OWNER}"
    livekit.add_participant(room, host)
    track = livekit.publish_track(room, host, kind="video")
    deliveries: list[tuple[str, str]] = []
    present: list[str] = []
    serial = 0
    while len(deliveries) < count:
        roll = rng.random()
        if roll < 0.1 and deliveries:
            deliveries.append(rng.choice(deliveries))  # LiveKit redelivers
            continue
        if roll < 0.15:
            kind = rng.choice(["track_published", "track_unpublished"])
            event = livekit.event(kind, room, host, track=track)
        elif roll < 0.6 or not present:
            serial += 1
            identity = f"viewer-{serial % 5000}-{serial}" if serial % 3 else f"guest-{serial}"
            livekit.add_participant(room, identity)
            event = livekit.event("participant_joined", room, identity)
            present.append(identity)
        else:
            identity = present.pop(rng.randrange(len(present)))
            info = livekit.remove_participant_directly(room, identity)
            event = livekit.event("participant_left", room, participant=info)
        body, headers = livekit.signed_webhook(event)
        deliveries.append((body, headers["Authorization"]))
    return deliveries


async def live_room(services: Services) -> str:
    await services.streams.create(
        owner_id=OWNER,
        username="bench",
        display_name="Bench",
        draft=StreamDraft(title="Benchmark stream"),
    )
    stream = (await services.streams.go_live(OWNER)).stream
    assert stream.room_name is not None
    return stream.room_name


def measure_verify(receiver: api.WebhookReceiver, deliveries: list[tuple[str, str]]) -> float:
    started = time.perf_counter()
    for body, token in deliveries:
        receiver.receive(body, token)
    return len(deliveries) / (time.perf_counter() - started)


async def measure_pipeline(
    services: Services,
    receiver: api.WebhookReceiver,
    deliveries: list[tuple[str, str]],
    in_flight: int,
) -> tuple[float, float, int]:
    """(events/s, CPU µs per event, repeats recognised)."""
    repeats = 0

    async def deliver(body: str, token: str) -> None:
        nonlocal repeats
        if not await services.webhooks.receive(receiver.receive(body, token)):
            repeats += 1

    queue = iter(deliveries)

    async def worker() -> None:
        for body, token in queue:
            await deliver(body, token)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(deliveries) / wall, cpu / len(deliveries) * 1e6, repeats


async def one_round(events: int, in_flight: int) -> tuple[float, float, float, int]:
    async with FakeLiveKit(api_key=API_KEY, api_secret=API_SECRET) as livekit:
        with tempfile.TemporaryDirectory() as folder:
            settings = load_settings(
                {
                    "GOLIVE_CONFIG": str(ROOT / "config.toml"),
                    "GOLIVE_DATABASE": str(Path(folder) / "bench.db"),
                    "LIVEKIT_URL": livekit.url,
                    "LIVEKIT_API_KEY": API_KEY,
                    "LIVEKIT_API_SECRET": API_SECRET,
                    "GOLIVE_SECRET": "bench-golive-secret-0123456789-abcdefghij",
                },
                dotenv_path=None,
            )
            async with open_services(settings, ManualClock()) as services:
                room = await live_room(services)
                deliveries = signed_events(livekit, room, events)
                receiver = api.WebhookReceiver(api.TokenVerifier(API_KEY, API_SECRET))
                verify_rate = measure_verify(receiver, deliveries)
                rate, cpu_us, repeats = await measure_pipeline(
                    services, receiver, deliveries, in_flight
                )
                return verify_rate, rate, cpu_us, repeats


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"verify": [], "seq": [], "par": []}
    for round_number in range(1, args.rounds + 1):
        verify, seq, seq_cpu, repeats = await one_round(args.events, 1)
        _, par, par_cpu, _ = await one_round(args.events, IN_FLIGHT)
        results["verify"].append(verify)
        results["seq"].append(seq)
        results["par"].append(par)
        print(
            f"round {round_number}: verify only {verify:8.0f}/s | full path sequential "
            f"{seq:6.0f}/s ({seq_cpu:5.0f} µs CPU/event) | {IN_FLIGHT} in flight {par:6.0f}/s "
            f"({par_cpu:5.0f} µs CPU/event) | {repeats} repeats ignored of {args.events}"
        )
    print(
        f"median: verify only {statistics.median(results['verify']):.0f}/s, full path "
        f"{statistics.median(results['seq']):.0f}/s sequential, "
        f"{statistics.median(results['par']):.0f}/s with {IN_FLIGHT} in flight (target ≥ 3000/s)"
    )


if __name__ == "__main__":
    asyncio.run(main())

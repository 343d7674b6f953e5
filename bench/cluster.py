"""One mix of requests against one and then two `golive web` replicas on one PostgreSQL.

The mix, by weight: viewer tokens (POST /api/live/token, half signed in, half guests) 40, searches
(POST /api/live/search, a name prefix or a place) 30, chat posts (POST /api/live/<slug>/chat) 20 and
tips (POST /api/live/<slug>/tip, 10 credits) 10, over 20 live streams among 300 stream pages and 200
signed-in viewers with credits. The replicas are real `golive web` subprocesses (the production
entry point); --concurrency clients send the mix for --seconds, each request to the next replica in
turn (as a round-robin proxy would; no proxy runs here). Chat flood limits are raised so that the
many viewers are not what is measured.

Reported per run: requests/s, p50/p99 (all, and per kind), non-2xx answers, and the database
round trips per request (and, before the runs, what one request of each kind costs, each kind
alone on one replica for a moment). Those are counted by PostgreSQL itself: by default the bench starts its
own throwaway cluster (Debian's binaries, as tests/postgres.py does) with pg_stat_statements
loaded, which counts every statement a client sends (track = top: a trigger's statements are not
round trips) including BEGIN, COMMIT, SET and NOTIFY, and asyncpg's pool reset of a connection it
takes back (four statements in one query: counted as the one round trip it is, and shown apart);
pg_stat_database counts transactions (each read outside a transaction is one, each reset too). With --postgres-url (a server without
pg_stat_statements preloaded) only the transactions are counted. The replicas' background work
(consumers, polls) is measured idle for 2 s and shown apart.

The load generator and the LiveKit double (which receives chat's room packets) run in this
process and share the machine with the replicas and PostgreSQL: on 2 cores, a second replica adds
processes, not cores. Read the round trips per request as the portable result; req/s says what
this machine gave.

Usage: .venv/bin/python bench/cluster.py [--quick] [--seconds 20] [--concurrency 32]
       [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402

from core.accounts.auth import Identity  # noqa: E402
from core.config.settings import load_settings  # noqa: E402
from core.streams.service import StreamDraft  # noqa: E402
from golive.bootstrap import open_services  # noqa: E402
from tests.fakes.livekit import FakeLiveKit  # noqa: E402
from tests.throwaway_postgres import ThrowawayCluster, free_port  # noqa: E402
from web.keys import SESSION_COOKIE  # noqa: E402

API_KEY = "benchkey"
API_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"  # noqa: S105 - bench only
GOLIVE_SECRET = "bench-golive-secret-0123456789-abcdefghijklmnop"  # noqa: S105 - bench only
DATABASE = "golive_cluster_bench"
MIX = {"token": 40, "search": 30, "chat": 20, "tip": 10}
CITIES = [(48.86, 2.35), (45.76, 4.84), (51.51, -0.13), (40.71, -74.0), (35.68, 139.69)]


@dataclass(frozen=True)
class Scale:
    pages: int
    live: int
    viewers: int
    seconds: float
    warmup: float
    concurrency: int
    by_kind: float  # seconds of each kind alone
    show_statements: bool


@dataclass
class Community:
    rooms: list[str]
    slugs: list[str]  # the live streams', for chat and tips
    prefixes: list[str]
    cookies: list[str]


@dataclass(frozen=True)
class Counted:
    round_trips: int | None  # None: pg_stat_statements is not loaded
    resets: int | None  # of those, asyncpg's pool resetting a connection given back
    transactions: int  # includes each read outside a transaction, and each reset

    def per_request(self, requests: int) -> str:
        said = f"{self.transactions / requests:.2f} transactions"
        if self.round_trips is None or self.resets is None:
            return said
        return (
            f"{self.round_trips / requests:.2f} round trips (of which "
            f"{self.resets / requests:.2f} pool resets), " + said
        )


@dataclass
class Measured:
    elapsed: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


# -- PostgreSQL ------------------------------------------------------------------------------------


# Statements counted (pg_stat_statements), commits not waited for, room for every client.
SERVER_OPTIONS = (
    "-c synchronous_commit=off",
    "-c shared_preload_libraries=pg_stat_statements",
    "-c pg_stat_statements.track=top",
    "-c max_connections=200",
)


async def create_database(server: str) -> str:
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    return server.rpartition("/")[0] + f"/{DATABASE}"


async def drop_database(server: str) -> None:
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await admin.close()


class RoundTrips:
    """What PostgreSQL counted between start() and stop(): statements and transactions."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.statements_counted = False

    async def prepare(self) -> None:
        connection = await asyncpg.connect(self._url)
        try:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await connection.fetch("SELECT pg_stat_statements_reset()")
            self.statements_counted = True
        except asyncpg.PostgresError:
            self.statements_counted = False  # not preloaded on this server
        finally:
            await connection.close()

    async def start(self) -> None:
        connection = await asyncpg.connect(self._url)
        try:
            if self.statements_counted:
                await connection.fetch("SELECT pg_stat_statements_reset()")
            self._xacts = await self._transactions(connection)
        finally:
            await connection.close()

    async def top(self, limit: int) -> list[tuple[int, str]]:
        """The statements sent most since start(): (calls, text)."""
        connection = await asyncpg.connect(self._url)
        try:
            rows = await connection.fetch(
                "SELECT calls, query FROM pg_stat_statements s JOIN pg_database d"
                " ON d.oid = s.dbid WHERE d.datname = current_database()"
                " AND s.query NOT LIKE '%pg_stat_%' ORDER BY calls DESC LIMIT $1",
                limit,
            )
            return [(int(row["calls"]), " ".join(row["query"].split())) for row in rows]
        finally:
            await connection.close()

    async def stop(self) -> Counted:
        """What was counted since start()."""
        connection = await asyncpg.connect(self._url)
        try:
            xacts = await self._transactions(connection) - self._xacts
            if not self.statements_counted:
                return Counted(None, None, xacts)
            statements, resets = await connection.fetchrow(
                "SELECT coalesce(sum(calls), 0)::bigint,"
                " coalesce(sum(calls) FILTER (WHERE query = 'CLOSE ALL'), 0)::bigint"
                " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
                " WHERE d.datname = current_database() AND s.query NOT LIKE '%pg_stat_%'"
            )
            # asyncpg's pool resets a connection it takes back with ONE query of four statements
            # (RESET ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); CLOSE ALL): one round trip.
            return Counted(int(statements) - 3 * int(resets), int(resets), xacts)
        finally:
            await connection.close()

    @staticmethod
    async def _transactions(connection: Any) -> int:
        # The counters are flushed by each backend when it goes idle, and read through a
        # snapshot: ask for a fresh one.
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        value = await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        )
        return int(value)


# -- golive ----------------------------------------------------------------------------------------


def golive_env(url: str, livekit_url: str, port: int = 0) -> dict[str, str]:
    return {
        "GOLIVE_CONFIG": str(ROOT / "config.toml"),
        "GOLIVE_DATABASE_URL": url,
        "LIVEKIT_URL": livekit_url,
        "LIVEKIT_API_KEY": API_KEY,
        "LIVEKIT_API_SECRET": API_SECRET,
        "GOLIVE_SECRET": GOLIVE_SECRET,
        "GOLIVE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GOLIVE_WEB_HOST": "127.0.0.1",
        "GOLIVE_WEB_PORT": str(port),
        "GOLIVE_CHAT_PERSON_BURST": "1000",
        "GOLIVE_CHAT_PERSON_PER_MINUTE": "60000",
        "GOLIVE_CHAT_IP_BURST": "10000",
        "GOLIVE_CHAT_IP_PER_MINUTE": "600000",
        "GOLIVE_LOG_LEVEL": "WARNING",
    }


async def seed(url: str, livekit: FakeLiveKit, scale: Scale) -> Community:
    """Stream pages (some placed, some live) and signed-in viewers with credits."""
    rng = random.Random(13)
    settings = load_settings(golive_env(url, livekit.url), dotenv_path=None)
    rooms: list[str] = []
    slugs: list[str] = []
    cookies: list[str] = []
    async with open_services(settings) as services:
        for n in range(scale.pages):
            latitude, longitude = CITIES[n % len(CITIES)]
            placed = n % 3 != 2
            draft = StreamDraft(
                title=f"Stream {n}",
                location_name="Somewhere" if placed else None,
                latitude=latitude + rng.uniform(-1, 1) if placed else None,
                longitude=longitude + rng.uniform(-1, 1) if placed else None,
            )
            await services.streams.create(
                owner_id=100_000 + n, username=f"streamer{n:04d}", display_name=f"S{n}", draft=draft
            )
            if n < scale.live:
                stream = (await services.streams.go_live(100_000 + n)).stream
                assert stream.room_name is not None
                rooms.append(stream.room_name)
                slugs.append(stream.slug)
        for n in range(scale.viewers):
            viewer = Identity(200_000 + n, f"viewer{n}", f"Viewer {n}")
            await services.ledger.grant(
                viewer.user_id, 1_000_000, moderator_id=1, reason="bench", key=f"fund-{n}"
            )
            link = await services.auth.create_login_link(viewer, "/live")
            token, _ = await services.auth.redeem_login_link(link.token)
            cookies.append(f"{SESSION_COOKIE}={token}")
        await services.events.drain()
    prefixes = [f"streamer{n:02d}"[:-1] for n in range(0, 99, 7)] + ["stream", "s"]
    return Community(rooms, slugs, prefixes, cookies)


def start_replica(url: str, livekit_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env.update(golive_env(url, livekit_url, port), PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from golive.cli import main; sys.exit(main(['web']))"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


async def wait_until_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                sys.exit(f"golive web exited with {process.returncode}; its log: {log}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    sys.exit(f"golive web did not answer on port {port} within 60 s; its log: {log}")


# -- the load --------------------------------------------------------------------------------------


def schedule(seed_value: int, mix: dict[str, int]) -> itertools.cycle[str]:
    kinds = [kind for kind, weight in mix.items() for _ in range(weight)]
    random.Random(seed_value).shuffle(kinds)
    return itertools.cycle(kinds)


def request_for(kind: str, n: int, community: Community) -> tuple[str, dict[str, Any], str | None]:
    """(path, JSON body, cookie) of the n-th request of a kind."""
    cookie = community.cookies[n % len(community.cookies)]
    if kind == "token":
        room = community.rooms[n % len(community.rooms)]
        return "/api/live/token", {"roomName": room, "role": "viewer"}, cookie if n % 2 else None
    if kind == "search":
        if n % 2:
            return (
                "/api/live/search",
                {"slug": community.prefixes[n % len(community.prefixes)]},
                None,
            )
        latitude, longitude = CITIES[n % len(CITIES)]
        return "/api/live/search", {"latitude": latitude, "longitude": longitude}, None
    slug = community.slugs[n % len(community.slugs)]
    if kind == "chat":
        return f"/api/live/{slug}/chat", {"text": f"message {n}"}, cookie
    body = {"amount": 10, "message": "", "requestId": f"bench-{uuid.uuid4().hex}"}
    return f"/api/live/{slug}/tip", body, cookie


async def load(
    replicas: list[str],
    community: Community,
    seconds: float,
    concurrency: int,
    mix: dict[str, int] = MIX,
) -> Measured:
    measured = Measured()
    turn = itertools.count()
    counters: dict[str, itertools.count[int]] = {kind: itertools.count() for kind in MIX}
    stop_at = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client(number: int) -> None:
            kinds = schedule(number, mix)
            while time.perf_counter() < stop_at:
                kind = next(kinds)
                path, body, cookie = request_for(kind, next(counters[kind]), community)
                base = replicas[next(turn) % len(replicas)]
                headers = {"Cookie": cookie} if cookie else {}
                started = time.perf_counter()
                async with http.post(base + path, json=body, headers=headers) as response:
                    await response.read()
                    status = response.status
                measured.latencies[kind].append(time.perf_counter() - started)
                if status >= 300:
                    failed = measured.failures[kind]
                    failed[status] = failed.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(concurrency)))
        measured.elapsed = time.perf_counter() - started
    return measured


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(label: str, measured: Measured, counted: Counted, idle: Counted) -> None:
    every = [x for samples in measured.latencies.values() for x in samples]
    count = measured.requests
    print(
        f"{label}: {count / measured.elapsed:7.0f} req/s  p50 {statistics.median(every) * 1000:6.1f} ms"
        f"  p99 {percentile(every, 0.99) * 1000:6.1f} ms  ({count} requests, "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    background = f"{idle.transactions / 2:.0f} transactions/s"
    if idle.round_trips is not None:
        background = f"{idle.round_trips / 2:.0f} round trips/s, " + background
    print(f"  database per request: {counted.per_request(count)}; idle: {background}")
    for kind in MIX:
        samples = measured.latencies[kind]
        if not samples:
            continue
        failed = measured.failures.get(kind) or {}
        failures = ", ".join(f"{n} x {status}" for status, n in sorted(failed.items()))
        print(
            f"  {kind:<7} {len(samples) / measured.elapsed:6.0f} req/s"
            f"  p50 {statistics.median(samples) * 1000:6.1f} ms"
            f"  p99 {percentile(samples, 0.99) * 1000:6.1f} ms"
            + (f"  NOT 2xx: {failures}" if failures else "")
        )


async def measure(
    label: str, ports: list[int], community: Community, trips: RoundTrips, scale: Scale
) -> None:
    replicas = [f"http://127.0.0.1:{port}" for port in ports]
    await trips.start()
    await asyncio.sleep(2)
    idle = await trips.stop()
    await load(replicas, community, scale.warmup, scale.concurrency)
    await trips.start()
    measured = await load(replicas, community, scale.seconds, scale.concurrency)
    counted = await trips.stop()
    report(label, measured, counted, idle)


async def cost_by_kind(port: int, community: Community, trips: RoundTrips, scale: Scale) -> None:
    """Each kind alone for a moment, on one replica: what one request of it costs the database."""
    costs = []
    for kind in MIX:
        await trips.start()
        measured = await load([f"http://127.0.0.1:{port}"], community, scale.by_kind, 8, {kind: 1})
        counted = await trips.stop()
        count = measured.requests
        if scale.show_statements and counted.round_trips is not None:
            print(f"  {kind}: the statements sent most, per request")
            for calls, query in await trips.top(8):
                print(f"    {calls / count:5.2f}  {query[:110]}")
        costs.append(f"  {kind:<7} {counted.per_request(count)}")
    print("database per request, each kind alone (8 clients, 1 replica):")
    print("\n".join(costs))


async def main(scale: Scale, server: str | None) -> None:
    try:
        cluster = ThrowawayCluster("golive-bench-pg-") if server is None else None
    except RuntimeError as missing:
        sys.exit(f"{missing} (--postgres-url)")
    work = Path(tempfile.mkdtemp(prefix="golive-bench-cluster-"))
    replicas: list[subprocess.Popen[bytes]] = []
    try:
        server = cluster.start(SERVER_OPTIONS) if cluster is not None else server
        assert server is not None
        url = await create_database(server)
        async with FakeLiveKit(api_key=API_KEY, api_secret=API_SECRET) as livekit:
            started = time.perf_counter()
            community = await seed(url, livekit, scale)
            trips = RoundTrips(url)
            await trips.prepare()
            print(
                f"{os.cpu_count()} cores; {scale.pages} stream pages ({scale.live} live), "
                f"{scale.viewers} viewers, seeded in {time.perf_counter() - started:.1f} s; "
                f"{scale.concurrency} clients, {scale.seconds:.0f} s per run; mix {MIX}"
            )
            if not trips.statements_counted:
                print("(pg_stat_statements is not loaded on this server: transactions only)")
            ports = [free_port(), free_port()]
            for n, port in enumerate(ports):
                log = work / f"replica{n + 1}.log"
                replicas.append(start_replica(url, livekit.url, port, log))
            for process, port, n in zip(replicas, ports, (1, 2), strict=True):
                await wait_until_ready(port, process, work / f"replica{n}.log")
            # The second replica is up but idle in the first run, so both runs have the same
            # processes' background work.
            await cost_by_kind(ports[0], community, trips, scale)
            await measure("1 replica ", ports[:1], community, trips, scale)
            await measure("2 replicas", ports, community, trips, scale)
    finally:
        for process in replicas:
            process.terminate()
        for process in replicas:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if cluster is not None:
            cluster.stop()
        elif server is not None:
            await drop_database(server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, under a minute")
    parser.add_argument("--seconds", type=float, default=None, help="per run (default 20; 6 quick)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="use this server (a maintenance database URL) instead of a throwaway cluster",
    )
    parser.add_argument(
        "--show-statements",
        action="store_true",
        help="with each kind's cost, the statements it sends most (pg_stat_statements)",
    )
    arguments = parser.parse_args()
    quick = arguments.quick
    chosen = Scale(
        pages=60 if quick else 300,
        live=10 if quick else 20,
        viewers=40 if quick else 200,
        seconds=arguments.seconds or (6 if quick else 20),
        warmup=1 if quick else 3,
        concurrency=arguments.concurrency,
        by_kind=1.5 if quick else 4,
        show_statements=arguments.show_statements,
    )
    asyncio.run(main(chosen, arguments.postgres_url))

"""golive's POST /api/live/token against the Node + livekit-server-sdk stack it replaces.

Both servers run pinned to core 0 (`taskset -c 0`); `wrk` loads them alternately from core 1 over
loopback with a guest-viewer request, for several interleaved rounds (the order flips each round),
and prints req/s, p50 and p99 for each, the ratio, and the medians over the rounds.

golive is served the way `golive web` serves it (bot/cli.py, the same process and settings) over a
temporary SQLite database holding one live stream; LiveKit is not contacted on the token path, so
the server gets an address where nothing listens (the stream is set live beforehand against the
test double in tests/fakes). The Node server (bench/node/server.mjs) answers the same request by
checking the room against its one live room and minting the same viewer token with
livekit-server-sdk; its packages are installed into bench/node by this script (`npm ci`).

A measurement during which other processes took more than 5 % of the server core (read from
/proc/stat) is redone, at most twice; each line shows that share.

Before loading, a self-check: golive's token is verified by livekit-server-sdk's TokenVerifier (in
Node) and by livekit-api's (in Python), and Node's token by livekit-api's; the claims must match.
Then the in-process cost of one token: golive's TokenMinter against livekit-api's AccessToken.

Usage: .venv/bin/python bench/token_endpoint.py [--rounds 5] [--seconds 8] [--connections 50]
Needs node/npm and wrk (Debian package `wrk`: installed by this script when run as root, else
`sudo apt-get install wrk`), and 2 cores. Noise here is about ±20 %: read the medians and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "bench" / "node"
sys.path.insert(0, str(ROOT))

from livekit import api  # noqa: E402

from core.config.settings import load_settings  # noqa: E402
from core.livekit.gateway import TokenMinter, grants_for  # noqa: E402
from core.streams.service import StreamDraft  # noqa: E402
from golive.bootstrap import open_services  # noqa: E402
from tests.fakes.livekit import FakeLiveKit  # noqa: E402

API_KEY = "benchkey"
API_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"  # noqa: S105 - bench only
TTL_MINUTES = 60
WS_URL = "ws://127.0.0.1:7880"
SERVER_CORE = "0"
CLIENT_CORE = "1"


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    # The server's own CPU time per request: far steadier than req/s when other work shares
    # the machine, since time stolen from the server is not counted.
    cpu_us_per_request: float
    # Share of the server's core that other processes used meanwhile (0.0 on a quiet machine).
    other_load: float


# -- set-up ------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    if os.geteuid() != 0:
        sys.exit("wrk is missing: install it with `sudo apt-get install wrk` and run again.")
    print("installing wrk (apt-get install -y wrk) ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or sys.exit("apt-get did not install wrk")


def ensure_node_modules() -> None:
    if not shutil.which("node") or not shutil.which("npm"):
        sys.exit("node and npm are needed for the Node side (Debian: apt-get install nodejs npm).")
    if (NODE_DIR / "node_modules" / "livekit-server-sdk").is_dir():
        return
    print("installing bench/node packages (npm ci) ...", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def golive_env(work: Path, port: int, livekit_url: str) -> dict[str, str]:
    return {
        "GOLIVE_CONFIG": str(ROOT / "config.toml"),
        "GOLIVE_DATABASE": str(work / "golive.db"),
        "LIVEKIT_URL": livekit_url,
        "LIVEKIT_PUBLIC_URL": WS_URL,
        "LIVEKIT_API_KEY": API_KEY,
        "LIVEKIT_API_SECRET": API_SECRET,
        "GOLIVE_SECRET": "bench-golive-secret-0123456789-abcdefghijklmnop",
        "GOLIVE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GOLIVE_WEB_HOST": "127.0.0.1",
        "GOLIVE_WEB_PORT": str(port),
        "GOLIVE_TOKEN_TTL_MINUTES": str(TTL_MINUTES),
    }


async def seed_live_stream(work: Path) -> str:
    """A database with one member's stream live; returns its room."""
    async with FakeLiveKit(api_key=API_KEY, api_secret=API_SECRET) as livekit:
        settings = load_settings(golive_env(work, 0, livekit.url), dotenv_path=None)
        async with open_services(settings) as services:
            await services.streams.create(
                owner_id=1001, username="alice", display_name="Alice", draft=StreamDraft("Bench")
            )
            room = (await services.streams.go_live(1001)).stream.room_name
    assert room is not None
    return room


def start_golive(work: Path, port: int) -> subprocess.Popen[bytes]:
    # The production entry point, `golive web`; nothing listens at the LiveKit address given
    # (the start-up reconcile then leaves the live stream alone, as documented).
    env = {**os.environ, **golive_env(work, port, livekit_url="http://127.0.0.1:9")}
    env.pop("DISCORD_TOKEN", None)
    log = (work / "golive.log").open("wb")
    return subprocess.Popen(
        [
            "taskset",
            "-c",
            SERVER_CORE,
            sys.executable,
            "-c",
            "import sys; from golive.cli import main; sys.exit(main(['web']))",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_node(port: int, room: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PORT": str(port),
        "LIVE_ROOM": room,
        "LIVEKIT_API_KEY": API_KEY,
        "LIVEKIT_API_SECRET": API_SECRET,
        "WS_URL": WS_URL,
        "TTL_SECONDS": str(TTL_MINUTES * 60),
    }
    return subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, "node", "server.mjs"],
        cwd=NODE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def wait_until_listening(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited with {process.returncode} before listening")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"{what} did not listen on port {port} within 30 s")


# -- self-check --------------------------------------------------------------------------------


def ask_token(port: int, room: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/live/token",
        data=json.dumps({"roomName": room, "role": "viewer"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        token: str = json.load(response)["token"]
        return token


def verify_in_python(token: str) -> dict[str, Any]:
    claims = api.TokenVerifier(API_KEY, API_SECRET).verify(token)
    assert claims.video is not None
    return {
        "sub": claims.identity,
        "name": claims.name,
        "video": {
            "roomJoin": claims.video.room_join,
            "room": claims.video.room,
            "canSubscribe": claims.video.can_subscribe,
            "canPublish": claims.video.can_publish,
            "canPublishData": claims.video.can_publish_data,
            "canPublishSources": claims.video.can_publish_sources,
            "canUpdateOwnMetadata": claims.video.can_update_own_metadata,
        },
    }


def verify_in_node(token: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", "verify.mjs", token],
        cwd=NODE_DIR,
        env={**os.environ, "LIVEKIT_API_KEY": API_KEY, "LIVEKIT_API_SECRET": API_SECRET},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"livekit-server-sdk refused golive's token: {done.stderr.strip()}")
    claims: dict[str, Any] = json.loads(done.stdout)
    return claims


def without_identity(claims: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in claims.items() if key not in ("sub", "nbf", "exp")}


def self_check(golive_port: int, node_port: int, room: str) -> None:
    expected_video = {
        "roomJoin": True,
        "room": room,
        "canSubscribe": True,
        "canPublish": False,
        "canPublishData": False,
        "canPublishSources": [],
        "canUpdateOwnMetadata": False,
    }
    ours = ask_token(golive_port, room)
    by_python = verify_in_python(ours)
    by_node = verify_in_node(ours)
    theirs = verify_in_python(ask_token(node_port, room))
    node_view = {key: by_node.get(key) for key in ("sub", "name", "video")}
    checks = {
        "golive token, livekit-api verifier": by_python["video"] == expected_video,
        "golive token, livekit-server-sdk verifier": node_view["video"] == expected_video
        and node_view["sub"] == by_python["sub"]
        and node_view["name"] == "Guest"
        and by_node.get("iss") == API_KEY
        and by_node["exp"] - by_node["nbf"] == TTL_MINUTES * 60,
        "Node token, livekit-api verifier, same claims": without_identity(theirs)
        == without_identity(by_python),
    }
    for what, ok in checks.items():
        print(f"self-check  {'ok  ' if ok else 'FAIL'}  {what}")
    if not all(checks.values()):
        print(f"  golive (python): {by_python}\n  golive (node):   {by_node}\n  node:   {theirs}")
        sys.exit("self-check failed: not benchmarking tokens that differ")


# -- in-process cost ---------------------------------------------------------------------------


def microseconds_per_token() -> tuple[float, float]:
    ttl = timedelta(minutes=TTL_MINUTES)
    minter = TokenMinter(API_KEY, API_SECRET, ttl)
    grants = grants_for("viewer", "live-alice-1790000000")

    def ours() -> str:
        return minter.mint(
            room="live-alice-1790000000", identity="guest-0a1b2c3d4e5f", name="Guest", role="viewer"
        )

    def livekit_api() -> str:
        return (
            api.AccessToken(API_KEY, API_SECRET)
            .with_identity("guest-0a1b2c3d4e5f")
            .with_name("Guest")
            .with_ttl(ttl)
            .with_grants(grants)
            .to_jwt()
        )

    def best_of_five(func: Any, number: int) -> float:
        return min(timeit.repeat(func, number=number, repeat=5)) / number * 1e6

    return best_of_five(ours, 20_000), best_of_five(livekit_api, 2_000)


# -- load --------------------------------------------------------------------------------------


def write_lua(work: Path, room: str) -> Path:
    """What a watch page sends: a guest viewer's JSON request, with the Origin browsers add."""
    script = work / "post.lua"
    body = json.dumps({"roomName": room, "role": "viewer"})
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        'wrk.headers["Origin"] = "http://" .. wrk.host .. ":" .. wrk.port\n',
        encoding="utf-8",
    )
    return script


def core_busy_seconds(core: str) -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            ticks = [int(field) for field in line.split()[1:]]
            return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # not idle/iowait
    raise LookupError(f"no cpu{core} in /proc/stat")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run_wrk(
    wrk: str,
    script: Path,
    port: int,
    pid: int,
    seconds: int,
    connections: int,
    *,
    warm_up: bool = False,
) -> Result:
    cpu_before, core_before, started = (
        cpu_seconds(pid),
        core_busy_seconds(SERVER_CORE),
        time.monotonic(),
    )
    done = subprocess.run(
        [
            "taskset",
            "-c",
            CLIENT_CORE,
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/api/live/token",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu = cpu_seconds(pid) - cpu_before
    other_load = (core_busy_seconds(SERVER_CORE) - core_before - cpu) / (time.monotonic() - started)
    out = done.stdout
    if not warm_up and ("Non-2xx" in out or "Socket errors" in out):
        sys.exit(f"wrk saw failed requests on port {port}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Result(
        rate,
        _percentile(out, "50%"),
        _percentile(out, "99%"),
        cpu / total * 1e6,
        max(other_load, 0),
    )


def _percentile(out: str, which: str) -> float:
    match = re.search(rf"^\s+{re.escape(which)}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    assert match, out
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (at least 3)")
    parser.add_argument("--seconds", type=int, default=8, help="measured seconds per server")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--max-other-load",
        type=float,
        default=0.05,
        help="redo a measurement when other processes used more of the server core than this",
    )
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("use at least 3 rounds: one round says little at ±20 % noise")
    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 cores: one for the servers, one for wrk")
    wrk = ensure_wrk()
    ensure_node_modules()
    print(f"load average before: {load_average()}")

    ours_us, theirs_us = microseconds_per_token()
    print(
        f"in-process, one viewer token: golive TokenMinter {ours_us:.1f} µs, "
        f"livekit-api AccessToken.to_jwt() {theirs_us:.1f} µs ({theirs_us / ours_us:.1f}x faster)"
    )

    with tempfile.TemporaryDirectory(prefix="golive-bench-") as tmp:
        work = Path(tmp)
        room = asyncio.run(seed_live_stream(work))
        ports = {"golive": free_port(), "node": free_port()}
        servers = {
            "golive": start_golive(work, ports["golive"]),
            "node": start_node(ports["node"], room),
        }
        try:
            for name, process in servers.items():
                wait_until_listening(ports[name], process, name)
            self_check(ports["golive"], ports["node"], room)
            script = write_lua(work, room)
            results: dict[str, list[Result]] = {"golive": [], "node": []}
            print(
                f"\nwrk -t1 -c{args.connections} -d{args.seconds}s from core {CLIENT_CORE}; "
                f"servers on core {SERVER_CORE}"
            )
            for number in range(1, args.rounds + 1):
                order = ["golive", "node"] if number % 2 else ["node", "golive"]
                for name in order:
                    result = measure(wrk, script, ports[name], servers[name].pid, args)
                    results[name].append(result)
                    print(
                        f"round {number}  {name:<6}  {result.requests_per_second:>9,.0f} req/s"
                        f"  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
                        f"  server CPU {result.cpu_us_per_request:5.1f} µs/req"
                        f"  other load on its core {result.other_load:4.0%}"
                    )
                ratio = (
                    results["golive"][-1].requests_per_second
                    / results["node"][-1].requests_per_second
                )
                print(f"round {number}  golive/node = {ratio:.2f}x")
            report(results)
        finally:
            for process in servers.values():
                process.terminate()
            for process in servers.values():
                process.wait(timeout=10)
    print(f"load average after: {load_average()}")


def measure(wrk: str, script: Path, port: int, pid: int, args: argparse.Namespace) -> Result:
    """One measurement; redone (up to twice) when other processes took the server's core."""
    for attempt in range(3):
        run_wrk(wrk, script, port, pid, 2, args.connections, warm_up=True)
        result = run_wrk(wrk, script, port, pid, args.seconds, args.connections)
        if result.other_load <= args.max_other_load:
            break
        if attempt < 2:
            print(f"  (other processes took {result.other_load:.0%} of core {SERVER_CORE}; again)")
            time.sleep(5)
    return result


def report(results: dict[str, list[Result]]) -> None:
    medians = {
        name: Result(
            statistics.median(r.requests_per_second for r in rounds),
            statistics.median(r.p50_ms for r in rounds),
            statistics.median(r.p99_ms for r in rounds),
            statistics.median(r.cpu_us_per_request for r in rounds),
            statistics.median(r.other_load for r in rounds),
        )
        for name, rounds in results.items()
    }
    print(f"\nmedians over {len(results['golive'])} rounds")
    for name, median in medians.items():
        print(
            f"  {name:<6}  {median.requests_per_second:>9,.0f} req/s"
            f"  p50 {median.p50_ms:6.2f} ms  p99 {median.p99_ms:6.2f} ms"
            f"  server CPU {median.cpu_us_per_request:5.1f} µs/req"
        )
    ratios = [
        g.requests_per_second / n.requests_per_second
        for g, n in zip(results["golive"], results["node"], strict=True)
    ]
    ratio = medians["golive"].requests_per_second / medians["node"].requests_per_second
    print(
        f"  golive/node req/s: {ratio:.2f}x (median of per-round ratios "
        f"{statistics.median(ratios):.2f}x); p99 golive {medians['golive'].p99_ms:.2f} ms "
        f"vs node {medians['node'].p99_ms:.2f} ms"
    )
    cpu_ratio = medians["node"].cpu_us_per_request / medians["golive"].cpu_us_per_request
    print(f"  server CPU per request, node/golive: {cpu_ratio:.2f}x (steadier under other load)")
    others = [r.other_load for rounds in results.values() for r in rounds]
    print(
        f"  other processes on the server core: median {statistics.median(others):.0%}, "
        f"max {max(others):.0%} of it"
    )
    met = ratio >= 1.1 and medians["golive"].p99_ms <= medians["node"].p99_ms
    print(f"  target (≥ 1.1x and p99 no worse): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()

"""What an operator sees when golive can't start or can't reach what it needs: one line each that
says what is wrong and what to do, never a traceback; `golive check` reports every part.

Real `golive` processes. Discord is made unreachable by pointing discord.py's API base at a closed
local port (this machine has no internet either, but the test must not depend on that).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GOLIVE_SECRET, ROOT
from tests.fakes.livekit import FakeLiveKit

# `golive <argv[2:]>` with discord.py's HTTP API at argv[1].
GOLIVE_WITH_DISCORD_AT = """
import sys
import discord.http
discord.http.Route.BASE = sys.argv[1]
from golive.cli import main
sys.exit(main(sys.argv[2:]))
"""


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port  # nothing listens once the socket is closed


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def environment(tmp_path: Path, livekit_url: str, api_secret: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "GOLIVE_CONFIG": str(ROOT / "config.toml"),
        "GOLIVE_DATABASE": str(tmp_path / "golive.db"),
        "GOLIVE_SECRET": GOLIVE_SECRET,
        "LIVEKIT_URL": livekit_url,
        "LIVEKIT_API_KEY": "testkey",
        "LIVEKIT_API_SECRET": api_secret,
        "GOLIVE_WEB_PORT": str(closed_port()),
        **extra,
    }


async def golive(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `golive ARGS` with Discord unreachable; (exit code, stdout, stderr)."""
    discord_base = f"http://127.0.0.1:{closed_port()}/api/v10"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        GOLIVE_WITH_DISCORD_AT,
        discord_base,
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def lines_with(text: str, words: str) -> list[str]:
    return [line for line in text.splitlines() if words in line]


async def test_check_reports_every_part_when_discord_is_unreachable_and_livekit_refuses_the_key(
    tmp_path: Path, livekit: FakeLiveKit
) -> None:
    env = environment(
        tmp_path,
        livekit.url,
        "a-wrong-secret-that-is-long-enough-0123456789",
        DISCORD_TOKEN="x.y.z",
    )
    code, out, err = await golive(env, "check")
    assert code == 1
    assert "Traceback" not in out + err, err
    for part in ("config", "database", "recording"):
        assert any(line.startswith(part) for line in out.splitlines()), out
    problems = lines_with(out, "PROBLEM")
    assert len(problems) == 2, out
    livekit_line, discord_line = problems
    assert "API key and secret" in livekit_line and "LIVEKIT_API_SECRET" in livekit_line
    assert "(unknown)" not in livekit_line and "golive check" not in livekit_line
    assert "unreachable" not in livekit_line and "can't be reached" not in livekit_line
    assert "Discord can't be reached" in discord_line and "network" in discord_line
    assert out.rstrip().endswith("2 problem(s) found")


async def test_run_with_discord_unreachable_says_so_in_one_line(
    tmp_path: Path, livekit: FakeLiveKit
) -> None:
    env = environment(tmp_path, livekit.url, "a-wrong-secret-that-is-long-enough-0123456789")
    env["DISCORD_TOKEN"] = "x.y.z"
    code, _, err = await golive(env, "run")
    assert code == 1
    assert "Traceback" not in err, err
    [error] = lines_with(err, "ERROR")
    assert "Discord can't be reached" in error and "network" in error
    # The refused key is logged as a refused key, not as LiveKit being unreachable.
    assert lines_with(err, "API key and secret")
    assert not lines_with(err, "LiveKit unreachable"), err
    assert not lines_with(err, "LiveKit can't be reached"), err


@pytest.mark.parametrize("command", ["web", "run"])
async def test_a_busy_port_is_one_line_naming_the_port_and_the_setting(
    tmp_path: Path, livekit: FakeLiveKit, busy_port: int, command: str
) -> None:
    env = environment(tmp_path, livekit.url, livekit.api_secret, GOLIVE_WEB_PORT=str(busy_port))
    env.pop("DISCORD_TOKEN", None)
    code, _, err = await golive(env, command)
    assert code == 1
    assert "Traceback" not in err and "OSError" not in err, err
    [line] = lines_with(err, "already in use")
    assert line.startswith(f"golive: port {busy_port} ") and "GOLIVE_WEB_PORT" in line


async def test_check_says_whether_discord_sign_in_is_on_and_never_prints_its_secret(
    tmp_path: Path, livekit: FakeLiveKit
) -> None:
    secret = "discord-client-secret-never-printed-0123"
    env = environment(
        tmp_path,
        livekit.url,
        livekit.api_secret,
        DISCORD_CLIENT_ID="123456789012345678",
        DISCORD_CLIENT_SECRET=secret,
        GOLIVE_PUBLIC_URL="https://live.example.org",
    )
    env.pop("DISCORD_TOKEN", None)
    code, out, err = await golive(env, "check")
    assert code == 0, out + err
    [line] = lines_with(out, "Discord sign-in on")
    assert "123456789012345678" in line and "********" in line
    assert "https://live.example.org/auth/discord/callback" in line
    assert secret not in out + err

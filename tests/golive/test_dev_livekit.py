"""`make run` (`golive run --start-livekit`) starts LiveKit itself when it can: livekit-server
--dev, or Docker's livekit-dev service, configured with golive's keys and a webhook to golive,
and stopped when golive stops; with neither, one line says what to install.

livekit-server and a Docker engine don't exist on the test machines: tests/fakes/livekit_server.py
stands in for both, reads the config golive wrote, serves LiveKit's API with its keys and sends
a signed webhook to the URL it was given.
"""

from __future__ import annotations

import os
import re
import signal
import socket
from pathlib import Path

import aiohttp
import pytest
import yaml

from golive.dev_livekit import (
    COMPOSE_FILE,
    COMPOSE_SERVICE,
    INSTALL,
    Address,
    config_yaml,
    how_to_start,
    local_address,
    webhook_url,
)
from tests.conftest import API_SECRET, GOLIVE_SECRET, ROOT
from tests.fakes import livekit_server
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, settings_of

KEY = "testkey"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(tmp_path: Path, bin_dir: Path, livekit_port: int, web_port: int) -> dict[str, str]:
    return {
        "GOLIVE_CONFIG": str(ROOT / "config.toml"),
        "GOLIVE_DATABASE": str(tmp_path / "golive.db"),
        "LIVEKIT_URL": f"ws://localhost:{livekit_port}",
        "LIVEKIT_API_KEY": KEY,
        "LIVEKIT_API_SECRET": API_SECRET,
        "GOLIVE_SECRET": GOLIVE_SECRET,
        "GOLIVE_WEB_PORT": str(web_port),
        # Only the stand-ins: no real livekit-server or docker of the machine's is found.
        "PATH": str(bin_dir),
    }


def exists(path: str) -> bool:
    return Path(path).exists()


def warnings_in(golive: GoliveProcess) -> list[str]:
    return [line for line in golive.lines if " WARNING " in line or " ERROR " in line]


async def readiness(url: str) -> dict[str, object]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as response:
        return dict(await response.json())


def check_the_config_golive_wrote(
    config: dict[str, object], livekit_port: int, web_port: int
) -> None:
    assert config == {
        "port": livekit_port,
        "bind_addresses": ["127.0.0.1"],
        "keys": {KEY: API_SECRET},
        "webhook": {"api_key": KEY, "urls": [f"http://127.0.0.1:{web_port}/livekit/webhook"]},
    }


async def test_with_livekit_server_installed_golive_starts_it_pointed_at_itself_and_stops_it(
    tmp_path: Path,
) -> None:
    bin_dir, record = tmp_path / "bin", tmp_path / "livekit.jsonl"
    livekit_server.install(bin_dir, record, docker=False)
    livekit_port, web_port = free_port(), free_port()
    env = environment(tmp_path, bin_dir, livekit_port, web_port)
    golive = await GoliveProcess.start(["web", "--start-livekit"], env, cwd=tmp_path)
    try:
        url = await golive.listening()
        started = await golive.wait_for_line("started livekit-server")
        # LiveKit's webhook reached golive, signed with the key pair golive configured.
        await golive.wait_for_line(r"POST /livekit/webhook 200")
        ready = await readiness(url)
        assert await golive.stop(signal.SIGTERM) == 0
    finally:
        await golive.kill()

    assert f"at ws://localhost:{livekit_port} for development" in started
    assert f"its webhook pointed at http://127.0.0.1:{web_port}/livekit/webhook" in started
    assert ready["parts"]["livekit"]["ok"] is True  # type: ignore[index]
    launched, webhook, stopped = livekit_server.records(record)
    assert launched["argv"][:2] == ["--dev", "--config"]
    check_the_config_golive_wrote(launched["config"], livekit_port, web_port)
    assert webhook == {"webhook": f"http://127.0.0.1:{web_port}/livekit/webhook", "status": 200}
    assert stopped == {"stopped_by": "SIGTERM"}
    assert not exists(launched["argv"][2])  # the config (it holds the secret) is gone
    assert any("livekit-server (pid" in line and line.endswith("stopped") for line in golive.lines)
    assert warnings_in(golive) == []


async def test_with_docker_golive_runs_composes_livekit_dev_service_and_removes_it(
    tmp_path: Path,
) -> None:
    bin_dir, record = tmp_path / "bin", tmp_path / "livekit.jsonl"
    livekit_server.install(bin_dir, record, binary=False)
    livekit_port, web_port = free_port(), free_port()
    env = environment(tmp_path, bin_dir, livekit_port, web_port)
    golive = await GoliveProcess.start(["web", "--start-livekit"], env, cwd=tmp_path)
    try:
        await golive.listening()
        started = await golive.wait_for_line(f"started the {COMPOSE_SERVICE} container")
        await golive.wait_for_line(r"POST /livekit/webhook 200")
        assert await golive.stop(signal.SIGTERM) == 0
    finally:
        await golive.kill()

    compose = ["compose", "-f", str(COMPOSE_FILE), "--profile", "dev"]
    up, launched, webhook, rm, stopped = livekit_server.records(record)
    assert up == {"docker": [*compose, "up", "--detach", COMPOSE_SERVICE]}
    assert launched["argv"] == ["--dev"]  # the service's command; the config came in LIVEKIT_CONFIG
    check_the_config_golive_wrote(launched["config"], livekit_port, web_port)
    assert webhook["status"] == 200
    assert rm == {"docker": [*compose, "rm", "--stop", "--force", COMPOSE_SERVICE]}
    assert stopped == {"stopped_by": "SIGTERM"}
    assert "it stops when golive stops" in started
    assert warnings_in(golive) == []


async def test_a_livekit_server_that_dies_later_is_told_once(tmp_path: Path) -> None:
    bin_dir, record = tmp_path / "bin", tmp_path / "livekit.jsonl"
    livekit_server.install(bin_dir, record, docker=False)
    env = environment(tmp_path, bin_dir, free_port(), free_port())
    golive = await GoliveProcess.start(["web", "--start-livekit"], env, cwd=tmp_path)
    try:
        started = await golive.wait_for_line(r"started livekit-server \(pid \d+\)")
        await golive.listening()
        match = re.search(r"pid (\d+)", started)
        assert match is not None
        os.kill(int(match[1]), signal.SIGKILL)
        died = await golive.wait_for_line("exited by itself")
        assert await golive.stop(signal.SIGTERM) == 0
    finally:
        await golive.kill()
    assert died.endswith(
        f"livekit-server (pid {match[1]}) exited by itself (code -9): nothing logged"
    )
    assert warnings_in(golive)[0] == died  # (a reconcile tick, 30 s on, would add the watch's line)


async def test_a_livekit_server_that_cannot_start_says_why_and_golive_serves_on(
    tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    broken = bin_dir / "livekit-server"
    broken.write_text(
        "#!/bin/sh\necho 'could not listen on port: address already in use'\nexit 1\n",
        encoding="utf-8",
    )
    broken.chmod(0o755)
    env = environment(tmp_path, bin_dir, free_port(), free_port())
    golive = await GoliveProcess.start(["web", "--start-livekit"], env, cwd=tmp_path)
    try:
        await golive.listening()
        assert await golive.stop(signal.SIGTERM) == 0
    finally:
        await golive.kill()
    why, hint = warnings_in(golive)
    assert " ERROR " in why
    assert why.endswith(
        "it exited (code 1) saying: could not listen on port: address already in use"
    )
    assert "golive could not start livekit-server (the line above says why)" in hint


async def test_with_neither_one_line_says_what_to_install(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = environment(tmp_path, bin_dir, free_port(), free_port())
    golive = await GoliveProcess.start(["web", "--start-livekit"], env, cwd=tmp_path)
    try:
        await golive.listening()
        assert await golive.stop(signal.SIGTERM) == 0
    finally:
        await golive.kill()
    [line] = warnings_in(golive)  # the start-up repair's "can't be reached" is held back too
    assert "LiveKit isn't reachable at ws://localhost:" in line
    assert INSTALL in line


async def test_a_livekit_that_already_answers_is_used_and_nothing_is_started(
    tmp_path: Path, livekit: FakeLiveKit
) -> None:
    bin_dir, record = tmp_path / "bin", tmp_path / "livekit.jsonl"
    livekit_server.install(bin_dir, record)
    env = environment(tmp_path, bin_dir, livekit.port, free_port())
    golive = await GoliveProcess.start(["web", "--start-livekit"], env, cwd=tmp_path)
    try:
        await golive.listening()
        assert await golive.stop(signal.SIGTERM) == 0
    finally:
        await golive.kill()
    assert any("LiveKit already listens at" in line for line in golive.lines)
    assert livekit_server.records(record) == []
    assert warnings_in(golive) == []


async def test_without_the_flag_nothing_is_started_and_the_line_names_make_run(
    tmp_path: Path,
) -> None:
    bin_dir, record = tmp_path / "bin", tmp_path / "livekit.jsonl"
    livekit_server.install(bin_dir, record, docker=False)
    env = environment(tmp_path, bin_dir, free_port(), free_port())
    golive = await GoliveProcess.start(["web"], env, cwd=tmp_path)
    try:
        await golive.listening()
        assert await golive.stop(signal.SIGTERM) == 0
    finally:
        await golive.kill()
    assert livekit_server.records(record) == []
    [line] = warnings_in(golive)
    assert how_to_start("livekit-server") in line


def test_make_run_and_make_web_ask_golive_to_start_livekit() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\t$(VENV)/bin/golive run --start-livekit\n" in makefile
    assert "\t$(VENV)/bin/golive web --start-livekit\n" in makefile


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("ws://localhost:7880", Address("127.0.0.1", 7880)),
        ("http://127.0.0.1:7880", Address("127.0.0.1", 7880)),
        ("ws://[::1]:7881", Address("::1", 7881)),
        ("wss://127.0.0.1", Address("127.0.0.1", 443)),
        ("wss://livekit.example.org", None),  # not this machine: nothing to start
        ("http://livekit:7880", None),  # compose's golive: LiveKit is another container
        ("ws://192.168.1.20:7880", None),
    ],
)
def test_only_a_livekit_url_on_this_machine_is_started(url: str, address: Address | None) -> None:
    assert local_address(url) == address


def test_the_config_reads_back_whatever_the_secret_holds() -> None:
    tricky = settings_of(
        {
            "GOLIVE_CONFIG": str(ROOT / "config.toml"),
            "LIVEKIT_API_KEY": "key: with # yaml",
            "LIVEKIT_API_SECRET": 'a "secret": with\' every {kind} of [yaml] & *char* 0123456789',
            "GOLIVE_SECRET": GOLIVE_SECRET,
            "GOLIVE_WEB_HOST": "0.0.0.0",  # noqa: S104 - a setting read, nothing bound
            "GOLIVE_WEB_PORT": "8099",
        }
    )
    webhook = webhook_url(tricky)
    assert webhook == "http://127.0.0.1:8099/livekit/webhook"  # golive listens on every address
    text = config_yaml(tricky, Address("127.0.0.1", 7880), webhook)
    parsed = yaml.safe_load(text)
    assert parsed["keys"] == {tricky.livekit.api_key: tricky.livekit.api_secret}
    assert parsed["webhook"] == {"api_key": tricky.livekit.api_key, "urls": [webhook]}

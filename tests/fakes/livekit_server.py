"""Stand-ins for the `livekit-server` binary and for `docker`, for the tests of `golive run
--start-livekit` (neither exists on the test machines).

`install(bin_dir, record)` puts executables named `livekit-server` and `docker` in `bin_dir`.

`livekit-server --dev --config FILE` (or with LIVEKIT_CONFIG, as the container reads it) does what
the real one does with golive's config, as far as golive can tell: it reads the YAML, serves
LiveKit's Twirp API (tests/fakes/livekit.py's double) with the configured key pair on the
configured address and port, POSTs a signed `room_started` webhook to each `webhook.urls` entry
(signed with `webhook.api_key`'s secret) once golive listens, and stops on SIGTERM. It appends
what it saw to `record` as JSON lines: {"argv", "config"}, {"webhook": url, "status"},
{"stopped_by": "SIGTERM"}.

`docker compose version` / `docker info` succeed; `docker compose ... up --detach livekit-dev`
starts the fake livekit-server in the background with the LIVEKIT_CONFIG it was given (recording
{"docker": argv}); `docker compose ... rm --stop --force livekit-dev` stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[2]

RECORD = "FAKE_LIVEKIT_RECORD"
WEBHOOK_TRIES = 600  # every 0.1 s: golive listens within a minute on the slowest machine
STOP_TRIES = 200  # every 0.05 s


def install(bin_dir: Path, record: Path, *, docker: bool = True, binary: bool = True) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, wanted in (("livekit-server", binary), ("docker", docker)):
        if not wanted:
            continue
        script = bin_dir / name
        script.write_text(
            f"#!{sys.executable}\n"
            "import sys\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from tests.fakes.livekit_server import main\n"
            f"raise SystemExit(main({name!r}, sys.argv[1:], {str(record)!r}))\n",
            encoding="utf-8",
        )
        script.chmod(0o755)


def records(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


def _note(record: str, entry: dict[str, Any]) -> None:
    with open(record, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def main(name: str, argv: list[str], record: str) -> int:
    if name == "docker":
        return _docker(argv, record)
    if "--config" in argv:
        text = Path(argv[argv.index("--config") + 1]).read_text(encoding="utf-8")
    else:
        text = os.environ["LIVEKIT_CONFIG"]
    return asyncio.run(_serve(argv, yaml.safe_load(text), record))


def _docker(argv: list[str], record: str) -> int:
    if argv in (["compose", "version"], ["info"]):
        return 0
    _note(record, {"docker": argv})
    pid_file = Path(record).with_suffix(".container-pid")
    if "up" in argv:
        config = os.environ["LIVEKIT_CONFIG"]
        server = subprocess.Popen(  # noqa: S603 - the fake binary, with a fixed argv
            [sys.executable, "-c", _SERVE, "--dev"],
            env={**os.environ, "LIVEKIT_CONFIG": config, RECORD: record},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        pid_file.write_text(str(server.pid), encoding="utf-8")
        return 0
    if "rm" in argv and pid_file.exists():
        pid = int(pid_file.read_text(encoding="utf-8"))
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        pid_file.unlink()
        # Like `docker compose rm --stop`: back once the container has stopped.
        for _ in range(STOP_TRIES):
            if any("stopped_by" in entry for entry in records(Path(record))):
                return 0
            time.sleep(0.05)
        return 1
    return 1


_SERVE = (
    f"import sys, os; sys.path.insert(0, {str(ROOT)!r}); "
    "from tests.fakes.livekit_server import main; "
    "raise SystemExit(main('livekit-server', sys.argv[1:], os.environ['FAKE_LIVEKIT_RECORD']))"
)


async def _serve(argv: list[str], config: dict[str, Any], record: str) -> int:
    from tests.fakes.livekit import FakeLiveKit

    _note(record, {"argv": argv, "config": config})
    [(key, secret)] = config["keys"].items()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    async with FakeLiveKit(
        key, secret, host=config["bind_addresses"][0], port=config["port"]
    ) as livekit:
        webhook = config.get("webhook") or {}
        assert webhook.get("api_key", key) == key
        for url in webhook.get("urls", []):
            await _post_when_listening(livekit, url, record)
        await stopped.wait()
    _note(record, {"stopped_by": "SIGTERM"})
    return 0


async def _post_when_listening(livekit: Any, url: str, record: str) -> None:
    event = livekit.event("room_started", "live-painting-1")
    for _ in range(WEBHOOK_TRIES):
        try:
            status = await livekit.post_webhook(url, event)
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.1)
            continue
        _note(record, {"webhook": url, "status": status})
        return
    _note(record, {"webhook": url, "status": None})

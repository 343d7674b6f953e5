"""A real `golive` process for the operating tests: started with its own environment, read
line by line from stderr (its log), stopped with a signal like an orchestrator would."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from core.config import Settings, load_settings
from tests import postgres
from tests.conftest import API_SECRET, GOLIVE_SECRET, ROOT
from tests.fakes.livekit import FakeLiveKit

_LISTENING = re.compile(r"web sidecar listening on (?P<host>[^ ]+):(?P<port>\d+)")
STARTUP_TIMEOUT = 60


def golive_environment(tmp_path: Path, livekit: FakeLiveKit, **extra: str) -> dict[str, str]:
    """The settings of a test process, as environment variables (nothing of the developer's)."""
    assert livekit.api_secret == API_SECRET
    return {
        "GOLIVE_CONFIG": str(ROOT / "config.toml"),
        "GOLIVE_DATABASE": str(tmp_path / "golive.db"),
        **({"GOLIVE_DATABASE_URL": postgres.current_url} if postgres.current_url else {}),
        "LIVEKIT_URL": livekit.url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "GOLIVE_SECRET": GOLIVE_SECRET,
        "GOLIVE_WEB_PORT": "0",
        **extra,
    }


def settings_of(environment: Mapping[str, str]) -> Settings:
    return load_settings(environment, dotenv_path=None)


class GoliveProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.url = ""
        self._new_line = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls, args: list[str], environment: Mapping[str, str], cwd: Path
    ) -> GoliveProcess:
        """Start `golive ARGS` and, for a serving role, wait until it listens."""
        env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
        env["PYTHONPATH"] = str(ROOT)
        env.update(environment)
        code = f"from golive.cli import main; raise SystemExit(main({args!r}))"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            env=env,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            # One stream, in the order written: the log (stderr) and anything printed.
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(process)

    async def listening(self) -> str:
        """The sidecar's base URL, once its log says it listens."""
        line = await self.wait_for_line(_LISTENING.pattern)
        match = _LISTENING.search(line)
        assert match is not None
        self.url = f"http://{match['host']}:{match['port']}"
        return self.url

    async def wait_for_line(self, pattern: str, within: float = STARTUP_TIMEOUT) -> str:
        """The first log line matching `pattern` (a regular expression), waiting for it."""
        compiled = re.compile(pattern)
        async with asyncio.timeout(within), self._new_line:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if compiled.search(line):
                        return line
                seen = len(self.lines)
                if self._reader.done():
                    raise AssertionError(
                        f"golive exited ({self.process.returncode}) before logging {pattern!r}:\n"
                        + "\n".join(self.lines)
                    )
                await self._new_line.wait()

    async def stop(self, signal_number: int = signal.SIGTERM, within: float = 30) -> int:
        """Send the signal and wait for the exit code."""
        self.process.send_signal(signal_number)
        return await self.wait(within)

    async def wait(self, within: float = 30) -> int:
        async with asyncio.timeout(within):
            code = await self.process.wait()
            await self._reader
        return code

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        await self._reader

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            async for raw in self.process.stdout:
                async with self._new_line:
                    self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                    self._new_line.notify_all()
        finally:
            async with self._new_line:
                self._new_line.notify_all()

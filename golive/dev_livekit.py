"""`golive run --start-livekit` (what `make run` runs): a LiveKit server for development, started
by golive when none answers, with its webhook pointed at golive, and stopped when golive stops.

What happens, in order:

1. LiveKit already answers at `livekit.url`: golive uses it as it is.
2. `livekit.url` is not on this machine: there is nothing golive could start.
3. `livekit-server` is on PATH: golive runs `livekit-server --dev --config FILE` with a config it
   writes into a private temporary folder (golive's key pair, the port of `livekit.url`, bound to
   that loopback address, and `webhook: urls:` golive's own /livekit/webhook), logging to a file
   beside it. At the end: SIGTERM, and a second one (livekit-server's "force") if it lingers.
4. Docker works (`docker compose version` and `docker info` both succeed) and this is a checkout
   with docker-compose.yml: its `livekit-dev` service (profile `dev`, the host's network) with
   the same config in LIVEKIT_CONFIG; `docker compose rm --stop` at the end.
5. Otherwise: nothing starts, and the LiveKit watch's one line says what to install.

Whatever happens, the context yields the hint the LiveKit watch (golive/livekit_watch.py) gives
if LiveKit is (or later goes) unreachable: one line saying what to run.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.config import Settings

log = logging.getLogger("golive.livekit")

BINARY = "livekit-server"
COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.yml"
COMPOSE_SERVICE = "livekit-dev"
WEBHOOK_PATH = "/livekit/webhook"
READY_SECONDS = 20.0  # livekit-server answers within a second or two; a container a bit later
STOP_SECONDS = 5.0
DOCKER_SECONDS = 10.0  # `docker info` hangs for a while when the engine doesn't answer
PULL_SECONDS = 600.0  # the first `docker compose up` pulls the image

INSTALL = (
    "install livekit-server (`curl -sSL https://get.livekit.io | bash`, or `brew install "
    "livekit`) and run `make run` again: it starts LiveKit with its webhook pointed at golive"
)
FLAG = "--start-livekit"


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def local_address(url: str) -> Address | None:
    """Where LiveKit listens if `url` is on this machine (loopback), else None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host == "localhost":
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        return None
    if not loopback:
        return None
    default_port = 443 if parts.scheme in ("https", "wss") else 80
    return Address(host, parts.port or default_port)


def webhook_url(settings: Settings) -> str | None:
    """golive's own webhook address as LiveKit on this machine reaches it (None for port 0)."""
    if settings.web.port == 0:
        return None
    host = settings.web.host
    if host in ("", "0.0.0.0"):  # noqa: S104 - reading the setting, not binding
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://{Address(host, settings.web.port)}{WEBHOOK_PATH}"


def config_yaml(settings: Settings, address: Address, webhook: str | None) -> str:
    """livekit-server's configuration: golive's key pair, the address, the webhook to golive.

    Scalars are written as JSON strings, which YAML reads as the same strings whatever they hold.
    """
    key, secret = settings.livekit.api_key, settings.livekit.api_secret
    lines = [
        "# Written by golive (golive/dev_livekit.py) for `livekit-server --dev`.",
        f"port: {address.port}",
        "bind_addresses:",
        f"  - {json.dumps(address.host)}",
        "keys:",
        f"  {json.dumps(key)}: {json.dumps(secret)}",
    ]
    if webhook is not None:
        lines += ["webhook:", f"  api_key: {json.dumps(key)}", "  urls:"]
        lines.append(f"    - {json.dumps(webhook)}")
    return "\n".join(lines) + "\n"


async def answers(address: Address, within: float = 1.0) -> bool:
    """Something accepts connections there (livekit-server, or what the watch will complain of)."""
    try:
        async with asyncio.timeout(within):
            _, writer = await asyncio.open_connection(address.host, address.port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def succeeds(*command: str, within: float = DOCKER_SECONDS) -> bool:
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return False
    try:
        async with asyncio.timeout(within):
            return await process.wait() == 0
    except TimeoutError:
        process.kill()
        await process.wait()
        return False


async def docker_works() -> bool:
    """Docker with compose, and an engine that answers (a client alone is not enough)."""
    if shutil.which("docker") is None or not COMPOSE_FILE.exists():
        return False
    return await succeeds("docker", "compose", "version") and await succeeds("docker", "info")


async def way_to_start() -> str | None:
    """How golive could start LiveKit on this machine: BINARY, "docker", or None."""
    if shutil.which(BINARY):
        return BINARY
    if await docker_works():
        return "docker"
    return None


def how_to_start(way: str | None) -> str:
    """What to run (or install) for a LiveKit here, when golive hasn't started one."""
    if way == BINARY:
        return (
            f"run `make run` (or `golive run {FLAG}`): it starts livekit-server with its "
            "webhook pointed at golive"
        )
    if way == "docker":
        return (
            f"run `make run` (or `golive run {FLAG}`): it starts LiveKit in Docker with its "
            "webhook pointed at golive; or run everything in Docker with `docker compose up`"
        )
    return INSTALL


class Launched(abc.ABC):
    """A LiveKit that golive started; `stop()` ends it."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.ready = False  # it answered: from now on its end is news

    @abc.abstractmethod
    async def stop(self) -> None: ...

    def trouble(self) -> str:
        """Why it isn't answering, as far as golive can tell."""
        return f"nothing answered within {READY_SECONDS:.0f}s (see the output above)"


class Process(Launched):
    def __init__(self, process: asyncio.subprocess.Process, folder: Path) -> None:
        super().__init__(f"livekit-server (pid {process.pid})")
        self.process = process
        self.folder = folder
        self.log_file = folder / "livekit.log"
        self._stopping = False
        self._watch = asyncio.create_task(self._exits(), name="livekit-server exit")

    def trouble(self) -> str:
        code = self.process.returncode
        if code is None:
            return f"nothing answered within {READY_SECONDS:.0f}s; it said: {self.last_words()}"
        return f"it exited (code {code}) saying: {self.last_words()}"

    def last_words(self) -> str:
        """The last line livekit-server logged (why it stopped, usually)."""
        try:
            lines = self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "no log"
        said = [line.strip() for line in lines if line.strip()]
        return said[-1][:300] if said else "nothing logged"

    async def _exits(self) -> None:
        code = await self.process.wait()
        if self.ready and not self._stopping:
            log.error("%s exited by itself (code %s): %s", self.what, code, self.last_words())

    async def stop(self) -> None:
        self._stopping = True
        # livekit-server waits for rooms to empty on the first SIGTERM and stops at once on
        # the second (cmd/server/main.go); then, as a last resort, SIGKILL.
        for stop_signal in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            if self.process.returncode is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(stop_signal)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_SECONDS):
                    await self.process.wait()
        await self._watch
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.ready:
            log.info("%s stopped", self.what)


class Container(Launched):
    def __init__(self) -> None:
        super().__init__(f"the {COMPOSE_SERVICE} container")

    async def stop(self) -> None:
        if await succeeds(*compose(), "rm", "--stop", "--force", COMPOSE_SERVICE, within=60):
            if self.ready:
                log.info("%s stopped", self.what)
        else:
            log.warning(
                "could not stop %s: run `%s rm --stop --force %s`",
                self.what,
                " ".join(compose()),
                COMPOSE_SERVICE,
            )


def compose() -> list[str]:
    return ["docker", "compose", "-f", str(COMPOSE_FILE), "--profile", "dev"]


async def start_process(config: str) -> Process:
    folder = Path(tempfile.mkdtemp(prefix="golive-livekit-"))  # 0700: the config has the secret
    config_file = folder / "livekit.yaml"
    config_file.write_text(config, encoding="utf-8")
    config_file.chmod(0o600)
    with (folder / "livekit.log").open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            BINARY,
            "--dev",
            "--config",
            str(config_file),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            # Its own session: Ctrl-C reaches golive, which stops it after its own shutdown.
            start_new_session=True,
        )
    return Process(process, folder)


async def start_container(config: str) -> Container | None:
    # Compose's own output (the first time, the image pull) goes to golive's terminal.
    process = await asyncio.create_subprocess_exec(
        *compose(),
        "up",
        "--detach",
        COMPOSE_SERVICE,
        stdin=asyncio.subprocess.DEVNULL,
        env={**os.environ, "LIVEKIT_CONFIG": config},
    )
    try:
        async with asyncio.timeout(PULL_SECONDS):
            code = await process.wait()
    except TimeoutError:
        process.kill()
        code = await process.wait()
    if code != 0:
        log.error("`docker compose up %s` failed (code %s)", COMPOSE_SERVICE, code)
        return None
    return Container()


async def until_it_answers(address: Address, launched: Launched) -> bool:
    async with asyncio.timeout(READY_SECONDS):
        while not await answers(address):
            if isinstance(launched, Process) and launched.process.returncode is not None:
                return False
            await asyncio.sleep(0.1)
    return True


async def launch(settings: Settings, address: Address, way: str) -> Launched | None:
    webhook = webhook_url(settings)
    config = config_yaml(settings, address, webhook)
    launched = await start_process(config) if way == BINARY else await start_container(config)
    if launched is None:
        return None
    try:
        ready = await until_it_answers(address, launched)
    except TimeoutError:
        ready = False
    except BaseException:
        await launched.stop()  # never leave it running behind a golive that didn't start
        raise
    if not ready:
        log.error(
            "%s did not start listening on %s: %s", launched.what, address, launched.trouble()
        )
        await launched.stop()
        return None
    launched.ready = True
    where = f"; its log: {launched.log_file}" if isinstance(launched, Process) else ""
    pointed = f"its webhook pointed at {webhook}" if webhook else "no webhook (web.port is 0)"
    log.info(
        "started %s at %s for development, %s; it stops when golive stops%s",
        launched.what,
        settings.livekit.url,
        pointed,
        where,
    )
    return launched


@asynccontextmanager
async def for_development(settings: Settings, *, start: bool) -> AsyncIterator[str]:
    """With `start`, a LiveKit for as long as the block runs, if none answers and one can be
    started here. Yields the one-line hint for when LiveKit can't be reached."""
    address = local_address(settings.livekit.url)
    if address is None:
        yield "check that LiveKit runs there and that LIVEKIT_URL is right"
        return
    if await answers(address):
        if start:
            log.info("LiveKit already listens at %s: golive uses it", settings.livekit.url)
        yield "start LiveKit again (it was running when golive started)"
        return
    way = await way_to_start()
    if not start or way is None:
        yield how_to_start(way)
        return
    launched = await launch(settings, address, way)
    if launched is None:
        yield f"golive could not start {way} (the line above says why)"
        return
    try:
        yield f"{launched.what}, started by golive, stopped answering (see above); start golive again"
    finally:
        await launched.stop()

"""A newcomer's first run: `golive --version`, a sentence of help on every command, a bare
`golive` that says what it can do, one line (not one every 30 s) when LiveKit is missing, and a
`make run` that installs no test tools."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator

import pytest

from core.config import Settings
from core.services import Services
from golive.cli import COMMANDS, build_parser, main
from golive.livekit_watch import LiveKitWatch
from golive.runtime import run_bot
from tests.conftest import ROOT
from tests.fakes.livekit import FakeLiveKit


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == "golive 0.1.0"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert COMMANDS[command] in help_text
    assert COMMANDS[command].endswith(".")


def test_a_bare_golive_prints_the_commands_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    printed = capsys.readouterr().err
    assert all(command in printed for command in COMMANDS)
    assert "golive COMMAND --help" in printed


@pytest.fixture
def logs(
    caplog: pytest.LogCaptureFixture, services: Services
) -> Iterator[tuple[LiveKitWatch, pytest.LogCaptureFixture]]:
    watch = LiveKitWatch(services, HINT)
    caplog.handler.addFilter(watch)
    caplog.set_level(logging.INFO)
    yield watch, caplog
    caplog.handler.removeFilter(watch)


HINT = "run `make run`: it starts livekit-server with its webhook pointed at golive"


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_without_livekit_one_line_says_what_to_start_and_then_it_is_quiet(
    logs: tuple[LiveKitWatch, pytest.LogCaptureFixture], services: Services, livekit: FakeLiveKit
) -> None:
    watch, caplog = logs
    await livekit.down()
    await watch.check()
    await services.streams.reconcile_with_livekit()  # the start-up repair: "can't be reached"
    for _ in range(3):  # three reconcile ticks, as every 30 s
        await services.live.reconcile_once()
        await watch.check()
    # One line: what failed and what to run; nothing on later ticks.
    [line] = warnings(caplog)
    assert line.startswith(f"LiveKit isn't reachable at {livekit.url} (Cannot connect to host ")
    assert line.endswith(f": {HINT}. golive keeps serving and says here when it's back.")

    caplog.clear()
    await livekit.up()
    await watch.check()
    assert [r.getMessage() for r in caplog.records] == [
        f"LiveKit is reachable again at {livekit.url} (11 repeated warning(s) held back)"
    ]
    caplog.clear()
    await livekit.down()
    await services.live.reconcile_once()  # a new outage is told again, once, in one line
    [again] = warnings(caplog)
    assert again.startswith(f"LiveKit isn't reachable at {livekit.url} (")


async def test_refusals_are_not_held_back_nor_taken_for_an_outage(
    logs: tuple[LiveKitWatch, pytest.LogCaptureFixture], services: Services, livekit: FakeLiveKit
) -> None:
    watch, caplog = logs
    await watch.check()
    livekit.fail_next("ListRooms", code="unauthenticated", status=401, times=2)
    await services.live.reconcile_once()
    await services.live.reconcile_once()
    assert watch.reachable is True
    refused = warnings(caplog)
    assert len(refused) == 4 and all("refused" in line for line in refused), refused


def test_make_run_installs_no_test_tools() -> None:
    def planned(target: str) -> str:
        return subprocess.run(  # noqa: S603
            ["make", "-n", "-B", target],  # noqa: S607 - what a developer types
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    run = planned("run")
    assert "pip install --progress-bar on -e .\n" in run
    assert "[dev]" not in run and "--quiet -e" not in run
    assert "[dev]" in planned("test")


def test_ci_runs_make_run_on_a_fresh_clone_and_checks_the_venv() -> None:
    # `make -n` above reads the plan; scripts/check_fresh_run.sh runs it for real (it needs the
    # package registries and minutes, so CI runs it after `make test`, not every pytest run).
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci.index("scripts/check_fresh_run.sh") > ci.index("make test")
    script = (ROOT / "scripts" / "check_fresh_run.sh").read_text(encoding="utf-8")
    assert "git clone" in script and "make run" in script
    assert '["optional-dependencies"]["dev"]' in script


async def test_golive_bot_without_a_token_says_so_in_one_line_and_exits_2(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot role has nothing to run without a bot (`golive run` falls back to the web)."""
    assert await run_bot(settings) == 2
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert line.startswith("golive bot needs DISCORD_TOKEN")
    assert "run `golive web`" in line

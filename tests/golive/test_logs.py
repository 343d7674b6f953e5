"""What a real golive process writes to its log during a scripted session: with
log.format = "json" every line is one JSON object, every request has its access line, the
work a request caused carries its id, and no secret (configured or handed out) appears."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path

from golive.logs import JsonFormatter, RequestIdFilter
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment
from tests.golive.session import SESSION_ENVIRONMENT, prepare, run_session

SECRETS = {
    "DISCORD_TOKEN": "discord-bot-token-that-must-never-be-logged-0123",
    "STRIPE_SECRET_KEY": "sk_test_never_logged_0123456789abcdef",
    "STRIPE_WEBHOOK_SECRET": "whsec_never_logged_0123456789abcdef",
    "GOLIVE_S3_ACCESS_KEY": "AKIA-test-access",
    "GOLIVE_S3_SECRET": "s3-secret-never-logged-0123456789",
}


async def test_a_session_logs_json_lines_with_request_ids_and_no_secrets(
    tmp_path: Path, livekit: FakeLiveKit
) -> None:
    environment = golive_environment(
        tmp_path,
        livekit,
        GOLIVE_LOG_FORMAT="json",
        GOLIVE_LOG_LEVEL="DEBUG",
        **SESSION_ENVIRONMENT,
        **SECRETS,
    )
    sessions = await prepare(environment)
    golive = await GoliveProcess.start(["web"], environment, cwd=tmp_path)
    try:
        url = await golive.listening()
        seen = await run_session(url, livekit, sessions, request_id="script-go-live")
        assert await golive.stop(signal.SIGTERM) == 0
    finally:
        await golive.kill()

    lines = [json.loads(line) for line in golive.lines]  # each line parses on its own
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "golive.access"]
    assert [(line["method"], line["route"], line["status"]) for line in access] == [
        ("POST", "/api/live/toggle-active", 200),
        ("POST", "/api/live/token", 200),
        ("POST", "/api/live/{slug}/chat", 201),
        ("POST", "/api/live/{slug}/tip", 201),
        ("POST", "/livekit/webhook", 200),
        ("POST", "/livekit/webhook", 200),
    ]
    assert access[0]["request_id"] == "script-go-live"
    assert len({line["request_id"] for line in access}) == len(access)
    went_live = [line for line in lines if "went live in room" in line["message"]]
    assert [line["request_id"] for line in went_live] == ["script-go-live"]

    text = golive.log
    handed_out = {
        "alice's session": sessions.alice,
        "bob's session": sessions.bob,
        "the viewer token": seen.viewer_token,
        "the LiveKit API secret": environment["LIVEKIT_API_SECRET"],
        "golive's secret": environment["GOLIVE_SECRET"],
    }
    for name, secret in {**SECRETS, **handed_out}.items():
        assert secret not in text, f"{name} is in the log"


def test_a_configured_secret_logged_by_any_code_is_masked() -> None:
    formatter = JsonFormatter((SECRETS["DISCORD_TOKEN"],))
    record = logging.LogRecord(
        "discord.client", logging.INFO, __file__, 1, "token %s", (SECRETS["DISCORD_TOKEN"],), None
    )
    RequestIdFilter().filter(record)
    line = json.loads(formatter.format(record))
    assert line["message"] == "token [secret]" and line["request_id"] == "-"

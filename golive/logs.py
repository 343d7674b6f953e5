"""Logging for every golive command: text or JSON lines on stderr, each tagged with the id of the
web request whose work wrote it, and with the configured secrets masked.

The request id lives in a context variable (web/ops.py sets it per request); asyncio copies the
context into tasks, so background event handlers a request started log under its id too.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from core.config import Settings
from web.ops import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s]: %(message)s"
MASK = "[secret]"
# Fields a log call may add with `extra=` that belong in a JSON line (the access log's).
EXTRA_FIELDS = ("method", "path", "route", "status", "duration_ms", "remote")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record: the current request's, or "-" outside requests."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class MaskingFormatter(logging.Formatter):
    """Replaces each configured secret in the finished line, whichever code logged it."""

    def __init__(self, secrets: tuple[str, ...], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return self.mask(self.render(record))

    def render(self, record: logging.LogRecord) -> str:
        return super().format(record)

    def mask(self, line: str) -> str:
        for secret in self._secrets:
            if secret in line:
                line = line.replace(secret, MASK)
        return line


class JsonFormatter(MaskingFormatter):
    """One JSON object per line: time, level, logger, message, request_id, and extras."""

    def render(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configured_secrets(settings: Settings) -> tuple[str, ...]:
    """Every secret in the settings. The dev defaults (LiveKit's "secret") are too short and
    common to mask: masking them would mangle ordinary words."""
    values = (
        settings.discord.token,
        settings.discord.client_secret,
        settings.livekit.api_secret,
        settings.security.secret,
        settings.stripe.secret_key,
        settings.stripe.webhook_secret,
        settings.recording.s3_secret,
    )
    return tuple(sorted({v for v in values if v and len(v) >= 12}, key=len, reverse=True))


def configure_logging(settings: Settings) -> None:
    secrets = configured_secrets(settings)
    formatter: logging.Formatter = (
        JsonFormatter(secrets)
        if settings.log.format == "json"
        else MaskingFormatter(secrets, TEXT_FORMAT)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log.level)
    logging.getLogger("discord.http").setLevel(logging.WARNING)

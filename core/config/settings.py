"""Settings: config.toml, then a .env file, then the environment (last one wins).

Every setting is declared once in ``_FIELDS`` with its TOML place, its environment variable and its
parser, so the loader, the error messages and the docs cannot drift apart. A bad value raises
``ConfigError`` naming the key; the CLI turns that into one line and exit code 2.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from core.kernel.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config.toml")


@dataclass(frozen=True)
class Settings:
    discord_token: str | None
    livekit_url: str
    livekit_public_url: str
    livekit_api_key: str
    livekit_api_secret: str
    token_ttl: timedelta
    database_path: Path
    web_host: str
    web_port: int
    public_url: str
    secret: str | None
    login_link_ttl: timedelta
    session_ttl: timedelta
    fee_mode: str
    golive_fee: int
    pass_price: int
    pass_days: int
    tip_min: int
    tip_max: int
    tip_message_max: int
    tip_blocked_words: tuple[str, ...]
    topup_min: int
    topup_max: int
    payout_min: int
    stripe_secret_key: str | None
    stripe_webhook_secret: str | None
    stripe_currency: str
    stripe_cents_per_credit: int
    stripe_api_base: str | None
    max_body_bytes: int
    log_level: str
    auto_end_grace: timedelta
    reconcile_interval: timedelta
    chat_max_length: int
    chat_allow_guests: bool
    chat_allow_links: bool
    chat_blocked_words: tuple[str, ...]
    chat_person_burst: int
    chat_person_per_minute: int
    chat_ip_burst: int
    chat_ip_per_minute: int
    kick_block: timedelta
    proxy_hops: int
    recording_output: str
    record_all: bool
    recording_file_prefix: str
    recording_public_url: str | None
    s3_bucket: str | None
    s3_region: str | None
    s3_endpoint: str | None
    s3_access_key: str | None
    s3_secret: str | None
    s3_force_path_style: bool

    @property
    def cookies_secure(self) -> bool:
        """Mark cookies Secure whenever people reach us over HTTPS."""
        return self.public_url.startswith("https://")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty text")
    return value.strip()


def _optional_text(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _text(value)


def _url(*schemes: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value).rstrip("/")
        parts = urlsplit(text)
        if parts.scheme not in schemes or not parts.netloc:
            raise ValueError(
                f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return text

    return parse


def _optional_url(*schemes: str) -> Callable[[Any], str | None]:
    """Like `_url`, for a setting that may be left out (None)."""
    required = _url(*schemes)
    return lambda value: None if value is None else required(value)


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        # TOML floats (8080.5, inf, nan) must not be truncated into a port, nor crash int().
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("must be a whole number")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError("must be a whole number") from None
        if isinstance(value, bool) or not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def _secret(value: Any) -> str | None:
    text = _optional_text(value)
    if text is not None and len(text.encode()) < 32:
        raise ValueError(
            "must be at least 32 characters (try: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return text


def _log_level(value: Any) -> str:
    level = _text(value).upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
    return level


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _word_list(value: Any) -> tuple[str, ...]:
    """A TOML list of words, or a comma-separated text (environment); compared case-insensitively."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise ValueError("must be a list of words")
    return tuple(sorted({item.strip().lower() for item in items if item.strip()}))


def _fee_mode(value: Any) -> str:
    mode = _text(value).lower()
    if mode not in {"per_golive", "pass"}:
        raise ValueError('must be "per_golive" or "pass"')
    return mode


def _currency(value: Any) -> str:
    code = _text(value).lower()
    if len(code) != 3 or not code.isalpha():
        raise ValueError('must be a three-letter ISO currency code such as "usd" or "eur"')
    return code


def _recording_output(value: Any) -> str:
    output = _text(value).lower()
    if output not in {"none", "file", "s3"}:
        raise ValueError('must be "none", "file" or "s3"')
    return output


def _path_prefix(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if ".." in text.split("/"):
        raise ValueError("must be a folder path without '..'")
    return text


@dataclass(frozen=True)
class _Field:
    name: str  # attribute of Settings
    key: str  # "section.key" in config.toml
    env: str | None
    default: Any
    parse: Callable[[Any], Any]


_FIELDS: tuple[_Field, ...] = (
    _Field("discord_token", "discord.token", "DISCORD_TOKEN", None, _optional_text),
    _Field(
        "livekit_url",
        "livekit.url",
        "LIVEKIT_URL",
        "ws://localhost:7880",
        _url("ws", "wss", "http", "https"),
    ),
    _Field(
        "livekit_public_url",
        "livekit.public_url",
        "LIVEKIT_PUBLIC_URL",
        None,
        _optional_url("ws", "wss"),
    ),
    _Field("livekit_api_key", "livekit.api_key", "LIVEKIT_API_KEY", "devkey", _text),
    _Field("livekit_api_secret", "livekit.api_secret", "LIVEKIT_API_SECRET", "secret", _text),
    _Field(
        "token_ttl",
        "livekit.token_ttl_minutes",
        "GOLIVE_TOKEN_TTL_MINUTES",
        60,
        lambda v: timedelta(minutes=_int_between(1, 24 * 60)(v)),
    ),
    _Field(
        "database_path",
        "database.path",
        "GOLIVE_DATABASE",
        "data/golive.db",
        lambda v: Path(_text(v)),
    ),
    _Field("web_host", "web.host", "GOLIVE_WEB_HOST", "127.0.0.1", _text),
    _Field("web_port", "web.port", "GOLIVE_WEB_PORT", 8080, _int_between(0, 65535)),
    _Field(
        "public_url",
        "web.public_url",
        "GOLIVE_PUBLIC_URL",
        None,
        _optional_url("http", "https"),
    ),
    _Field(
        "max_body_bytes",
        "web.max_body_kib",
        "GOLIVE_MAX_BODY_KIB",
        16,
        lambda v: _int_between(1, 1024)(v) * 1024,
    ),
    _Field("secret", "security.secret", "GOLIVE_SECRET", None, _secret),
    _Field(
        "login_link_ttl",
        "security.login_link_minutes",
        "GOLIVE_LOGIN_LINK_MINUTES",
        10,
        lambda v: timedelta(minutes=_int_between(1, 60)(v)),
    ),
    _Field(
        "session_ttl",
        "security.session_days",
        "GOLIVE_SESSION_DAYS",
        30,
        lambda v: timedelta(days=_int_between(1, 365)(v)),
    ),
    # -- money (core/ledger.py, docs/architecture.md "Money") --
    _Field("fee_mode", "fees.mode", "GOLIVE_FEE_MODE", "per_golive", _fee_mode),
    _Field("golive_fee", "fees.golive_fee", "GOLIVE_FEE", 0, _int_between(0, 1_000_000)),
    _Field("pass_price", "fees.pass_price", "GOLIVE_PASS_PRICE", 500, _int_between(1, 1_000_000)),
    _Field("pass_days", "fees.pass_days", "GOLIVE_PASS_DAYS", 30, _int_between(1, 366)),
    _Field("tip_min", "tips.min", "GOLIVE_TIP_MIN", 10, _int_between(1, 1_000_000)),
    _Field("tip_max", "tips.max", "GOLIVE_TIP_MAX", 10_000, _int_between(1, 1_000_000_000)),
    _Field("tip_message_max", "tips.message_max", None, 200, _int_between(0, 500)),
    _Field("tip_blocked_words", "tips.blocked_words", "GOLIVE_TIP_BLOCKED_WORDS", [], _word_list),
    _Field("topup_min", "wallet.topup_min", None, 100, _int_between(1, 1_000_000_000)),
    _Field("topup_max", "wallet.topup_max", None, 100_000, _int_between(1, 1_000_000_000)),
    _Field("payout_min", "wallet.payout_min", None, 1_000, _int_between(1, 1_000_000_000)),
    _Field("stripe_secret_key", "stripe.secret_key", "STRIPE_SECRET_KEY", None, _optional_text),
    _Field(
        "stripe_webhook_secret",
        "stripe.webhook_secret",
        "STRIPE_WEBHOOK_SECRET",
        None,
        _optional_text,
    ),
    _Field("stripe_currency", "stripe.currency", "STRIPE_CURRENCY", "usd", _currency),
    _Field("stripe_cents_per_credit", "stripe.cents_per_credit", None, 1, _int_between(1, 10_000)),
    _Field(
        "stripe_api_base",
        "stripe.api_base",
        "STRIPE_API_BASE",
        None,
        _optional_url("http", "https"),
    ),
    _Field("log_level", "log.level", "GOLIVE_LOG_LEVEL", "INFO", _log_level),
    _Field(
        "auto_end_grace",
        "live.auto_end_grace_seconds",
        "GOLIVE_AUTO_END_GRACE_SECONDS",
        120,
        lambda v: timedelta(seconds=_int_between(10, 3600)(v)),
    ),
    _Field(
        "reconcile_interval",
        "live.reconcile_seconds",
        "GOLIVE_RECONCILE_SECONDS",
        30,
        lambda v: timedelta(seconds=_int_between(5, 600)(v)),
    ),
    _Field(
        "chat_max_length", "chat.max_length", "GOLIVE_CHAT_MAX_LENGTH", 500, _int_between(1, 2000)
    ),
    _Field("chat_allow_guests", "chat.allow_guests", "GOLIVE_CHAT_ALLOW_GUESTS", False, _flag),
    _Field("chat_allow_links", "chat.allow_links", "GOLIVE_CHAT_ALLOW_LINKS", False, _flag),
    _Field("chat_blocked_words", "chat.blocked_words", "GOLIVE_CHAT_BLOCKED_WORDS", [], _word_list),
    _Field("chat_person_burst", "chat.person_burst", None, 5, _int_between(1, 1000)),
    _Field("chat_person_per_minute", "chat.person_per_minute", None, 20, _int_between(1, 60_000)),
    _Field("chat_ip_burst", "chat.ip_burst", None, 20, _int_between(1, 10_000)),
    _Field("chat_ip_per_minute", "chat.ip_per_minute", None, 120, _int_between(1, 600_000)),
    _Field(
        "kick_block",
        "moderation.kick_block_minutes",
        "GOLIVE_KICK_BLOCK_MINUTES",
        10,
        lambda v: timedelta(minutes=_int_between(1, 24 * 60)(v)),
    ),
    _Field("proxy_hops", "web.proxy_hops", "GOLIVE_PROXY_HOPS", 0, _int_between(0, 5)),
    # -- recording with LiveKit egress (core/recording.py) --
    _Field(
        "recording_output",
        "recording.output",
        "GOLIVE_RECORDING_OUTPUT",
        "none",
        _recording_output,
    ),
    _Field("record_all", "recording.record_all", "GOLIVE_RECORD_ALL", False, _flag),
    _Field(
        "recording_file_prefix",
        "recording.file_prefix",
        "GOLIVE_RECORDING_PREFIX",
        "recordings/",
        _path_prefix,
    ),
    _Field(
        "recording_public_url",
        "recording.public_url",
        "GOLIVE_RECORDING_PUBLIC_URL",
        None,
        _optional_url("http", "https"),
    ),
    _Field("s3_bucket", "recording.s3_bucket", "GOLIVE_S3_BUCKET", None, _optional_text),
    _Field("s3_region", "recording.s3_region", "GOLIVE_S3_REGION", None, _optional_text),
    _Field(
        "s3_endpoint",
        "recording.s3_endpoint",
        "GOLIVE_S3_ENDPOINT",
        None,
        _optional_url("http", "https"),
    ),
    _Field(
        "s3_access_key", "recording.s3_access_key", "GOLIVE_S3_ACCESS_KEY", None, _optional_text
    ),
    _Field("s3_secret", "recording.s3_secret", "GOLIVE_S3_SECRET", None, _optional_text),
    _Field(
        "s3_force_path_style",
        "recording.s3_force_path_style",
        "GOLIVE_S3_FORCE_PATH_STYLE",
        False,
        _flag,
    ),
)

_KNOWN_KEYS = {field.key for field in _FIELDS}


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{key}."))
        else:
            flat[key] = value
    return flat


def _read_toml(path: Path, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError("GOLIVE_CONFIG", f"no config file at {path}")
        return {}
    try:
        flat = _flatten(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), f"is not valid TOML ({error})") from None
    for key in flat:
        if key not in _KNOWN_KEYS:
            raise ConfigError(
                key, f"unknown setting in {path} (known: {', '.join(sorted(_KNOWN_KEYS))})"
            )
    return flat


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: Path | None = Path(".env")
) -> Settings:
    """Read settings from config.toml (or $GOLIVE_CONFIG), .env and the environment."""
    env: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.exists():
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    config_path = env.get("GOLIVE_CONFIG")
    from_file = _read_toml(
        Path(config_path) if config_path else DEFAULT_CONFIG_PATH, required=config_path is not None
    )

    values: dict[str, Any] = {}
    for field in _FIELDS:
        raw, source = field.default, field.key
        if field.key in from_file:
            raw = from_file[field.key]
        if field.env and env.get(field.env, "") != "":
            raw, source = env[field.env], field.env
        try:
            values[field.name] = field.parse(raw)
        except ValueError as error:
            raise ConfigError(source, str(error)) from None

    if values["livekit_public_url"] is None:
        # Browsers need a WebSocket URL; derive it from the server-side one.
        url: str = values["livekit_url"]
        values["livekit_public_url"] = (
            url.replace("http", "ws", 1) if url.startswith("http") else url
        )
    if values["public_url"] is None:
        host = values["web_host"] if values["web_host"] not in {"0.0.0.0", "::"} else "localhost"  # noqa: S104
        values["public_url"] = f"http://{host}:{values['web_port']}"
    return Settings(**values)


def settings_table() -> list[tuple[str, str, str]]:
    """(toml key, environment variable, default) for every setting, for docs and `golive check`."""
    return [(f.key, f.env or "", "" if f.default is None else str(f.default)) for f in _FIELDS]

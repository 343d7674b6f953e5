"""Settings: config.toml, then a .env file, then the environment (last one wins).

Every setting is declared once in ``_FIELDS`` with its TOML place, its environment variable and its
parser, so the loader, the error messages and the docs cannot drift apart; the values land in the
section dataclasses of core/config/sections.py. A bad value, or settings that don't fit together,
raise ``ConfigError`` naming the key(s); the CLI turns that into one line and exit code 2.
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

from core.config.sections import (
    ChatSettings,
    DatabaseSettings,
    DiscordSettings,
    FeesSettings,
    LiveKitSettings,
    LiveSettings,
    LogSettings,
    MetricsSettings,
    ModerationSettings,
    RecordingSettings,
    SecuritySettings,
    Settings,
    StageSettings,
    StreamsSettings,
    StripeSettings,
    ThumbnailSettings,
    TipsSettings,
    WalletSettings,
    WebSettings,
)
from core.kernel.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config.toml")


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


def _database_url(value: Any) -> str | None:
    """A postgresql:// URL, or a SQLite file (a path, or sqlite:///path); None: database.path."""
    text = _optional_text(value)
    if text is None:
        return None
    if text.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(text)
        if not parts.path.strip("/"):
            raise ValueError("must name the database, e.g. postgresql://golive@db-host/golive")
        return text
    if "://" in text and not text.startswith("sqlite:///"):
        raise ValueError("must be a postgresql:// URL or a SQLite file path (e.g. data/golive.db)")
    return text


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


def _log_format(value: Any) -> str:
    text = _text(value).lower()
    if text not in {"text", "json"}:
        raise ValueError('must be "text" or "json"')
    return text


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


def _optional_path(value: Any) -> Path | None:
    text = _optional_text(value)
    return None if text is None else Path(text)


def _optional_absolute_folder(value: Any) -> Path | None:
    text = _optional_text(value)
    if text is None:
        return None
    path = Path(text)
    if not path.is_absolute() or ".." in path.parts:
        raise ValueError("must be an absolute folder path without '..'")
    return path


@dataclass(frozen=True)
class _Field:
    key: str  # "section.key" in config.toml; the section is an attribute of Settings
    env: str
    default: Any  # as written in config.toml
    parse: Callable[[Any], Any]
    attribute: str = ""  # in the section's dataclass, when it differs from the key's name

    @property
    def section(self) -> str:
        return self.key.split(".")[0]

    @property
    def name(self) -> str:
        return self.attribute or self.key.split(".")[1]


def _minutes(low: int, high: int) -> Callable[[Any], timedelta]:
    number = _int_between(low, high)
    return lambda value: timedelta(minutes=number(value))


def _seconds(low: int, high: int) -> Callable[[Any], timedelta]:
    number = _int_between(low, high)
    return lambda value: timedelta(seconds=number(value))


def _days(low: int, high: int) -> Callable[[Any], timedelta]:
    number = _int_between(low, high)
    return lambda value: timedelta(days=number(value))


def _kib(low: int, high: int) -> Callable[[Any], int]:
    number = _int_between(low, high)
    return lambda value: number(value) * 1024


def _snowflake(value: Any) -> str | None:
    """A Discord id (an application's client id): digits only."""
    text = _optional_text(str(value) if isinstance(value, int) else value)
    if text is not None and not (text.isdigit() and 5 <= len(text) <= 20):
        raise ValueError("must be the application's id: digits, from the Developer Portal")
    return text


def _amounts(value: Any) -> tuple[int, ...]:
    """A TOML list of whole numbers of credits, or a comma-separated text (environment)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("must be a list of whole numbers")
    number = _int_between(1, 1_000_000_000)
    texts = [item.strip() if isinstance(item, str) else item for item in items]
    amounts = sorted({number(item) for item in texts if item != ""})
    if len(amounts) > 6:
        raise ValueError("must list at most 6 amounts")
    return tuple(amounts)


def _shard_ids(value: Any) -> tuple[int, ...]:
    """Shard ids: a TOML list of numbers, or a text of numbers and ranges ("0,1", "4-7")."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError('must be a list of shard numbers, e.g. [0, 1] or "0-3"')
    number = _int_between(0, 99_999)
    ids: set[int] = set()
    for item in items:
        if not isinstance(item, str):
            ids.add(number(item))
            continue
        low, dash, high = item.strip().partition("-")
        if not low and not dash:
            continue  # "0,1," in the environment
        first = number(low)
        last = number(high) if dash else first
        if last < first:
            raise ValueError(f'has the range "{item.strip()}", which runs backwards')
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


_FIELDS: tuple[_Field, ...] = (
    _Field("discord.token", "DISCORD_TOKEN", None, _optional_text),
    # -- "Sign in with Discord" on the pages (OAuth2; core/accounts/discord_oauth.py) --
    _Field("discord.client_id", "DISCORD_CLIENT_ID", None, _snowflake),
    _Field("discord.client_secret", "DISCORD_CLIENT_SECRET", None, _optional_text),
    _Field(
        "discord.api_base",
        "DISCORD_API_BASE",
        "https://discord.com/api/v10",
        _url("http", "https"),
    ),
    _Field(
        "discord.authorize_url",
        "DISCORD_AUTHORIZE_URL",
        "https://discord.com/oauth2/authorize",
        _url("http", "https"),
    ),
    # -- the bot's shards (discord.py AutoShardedBot; docs/architecture.md "Process roles") --
    _Field("discord.shard_count", "GOLIVE_SHARD_COUNT", 0, _int_between(0, 100_000)),
    _Field("discord.shard_ids", "GOLIVE_SHARD_IDS", [], _shard_ids),
    # -- LiveKit (core/livekit) --
    _Field("livekit.url", "LIVEKIT_URL", "ws://localhost:7880", _url("ws", "wss", "http", "https")),
    _Field("livekit.public_url", "LIVEKIT_PUBLIC_URL", None, _optional_url("ws", "wss")),
    _Field("livekit.api_key", "LIVEKIT_API_KEY", "devkey", _text),
    _Field("livekit.api_secret", "LIVEKIT_API_SECRET", "secret", _text),
    _Field(
        "livekit.token_ttl_minutes",
        "GOLIVE_TOKEN_TTL_MINUTES",
        60,
        _minutes(1, 24 * 60),
        "token_ttl",
    ),
    _Field(
        "livekit.timeout_seconds", "GOLIVE_LIVEKIT_TIMEOUT_SECONDS", 3, _seconds(1, 30), "timeout"
    ),
    _Field("database.path", "GOLIVE_DATABASE", "data/golive.db", lambda v: Path(_text(v))),
    _Field("database.url", "GOLIVE_DATABASE_URL", None, _database_url),
    _Field(
        "database.busy_seconds",
        "GOLIVE_DATABASE_BUSY_SECONDS",
        3,
        _seconds(1, 60),
        "busy_timeout",
    ),
    # -- the web sidecar (web/) --
    _Field("web.host", "GOLIVE_WEB_HOST", "127.0.0.1", _text),
    _Field("web.port", "GOLIVE_WEB_PORT", 8080, _int_between(0, 65535)),
    _Field("web.public_url", "GOLIVE_PUBLIC_URL", None, _optional_url("http", "https")),
    _Field("web.max_body_kib", "GOLIVE_MAX_BODY_KIB", 16, _kib(1, 1024), "max_body_bytes"),
    _Field("web.proxy_hops", "GOLIVE_PROXY_HOPS", 0, _int_between(0, 5)),
    _Field(
        "web.shutdown_grace_seconds",
        "GOLIVE_SHUTDOWN_GRACE_SECONDS",
        10,
        _seconds(0, 300),
        "shutdown_grace",
    ),
    _Field("security.secret", "GOLIVE_SECRET", None, _secret),
    _Field(
        "security.login_link_minutes",
        "GOLIVE_LOGIN_LINK_MINUTES",
        10,
        _minutes(1, 60),
        "login_link_ttl",
    ),
    _Field("security.session_days", "GOLIVE_SESSION_DAYS", 30, _days(1, 365), "session_ttl"),
    # -- money (core/money, docs/architecture.md "Money") --
    _Field("fees.mode", "GOLIVE_FEE_MODE", "per_golive", _fee_mode),
    _Field("fees.golive_fee", "GOLIVE_FEE", 0, _int_between(0, 1_000_000)),
    _Field("fees.pass_price", "GOLIVE_PASS_PRICE", 500, _int_between(1, 1_000_000)),
    _Field("fees.pass_days", "GOLIVE_PASS_DAYS", 30, _int_between(1, 366)),
    _Field("tips.min", "GOLIVE_TIP_MIN", 10, _int_between(1, 1_000_000), "minimum"),
    _Field("tips.max", "GOLIVE_TIP_MAX", 10_000, _int_between(1, 1_000_000_000), "maximum"),
    _Field("tips.message_max", "GOLIVE_TIP_MESSAGE_MAX", 200, _int_between(0, 500)),
    _Field("tips.blocked_words", "GOLIVE_TIP_BLOCKED_WORDS", [], _word_list),
    _Field("tips.presets", "GOLIVE_TIP_PRESETS", [], _amounts),
    _Field("wallet.topup_min", "GOLIVE_TOPUP_MIN", 100, _int_between(1, 1_000_000_000)),
    _Field("wallet.topup_max", "GOLIVE_TOPUP_MAX", 100_000, _int_between(1, 1_000_000_000)),
    _Field("wallet.payout_min", "GOLIVE_PAYOUT_MIN", 1_000, _int_between(1, 1_000_000_000)),
    _Field("stripe.secret_key", "STRIPE_SECRET_KEY", None, _optional_text),
    _Field("stripe.webhook_secret", "STRIPE_WEBHOOK_SECRET", None, _optional_text),
    _Field("stripe.currency", "STRIPE_CURRENCY", "usd", _currency),
    _Field("stripe.cents_per_credit", "STRIPE_CENTS_PER_CREDIT", 1, _int_between(1, 10_000)),
    _Field("stripe.api_base", "STRIPE_API_BASE", None, _optional_url("http", "https")),
    _Field("log.level", "GOLIVE_LOG_LEVEL", "INFO", _log_level),
    _Field("log.format", "GOLIVE_LOG_FORMAT", "text", _log_format),
    _Field("metrics.enabled", "GOLIVE_METRICS_ENABLED", False, _flag),
    _Field("metrics.token", "GOLIVE_METRICS_TOKEN", None, _secret),
    # -- live streams: auto-end and the reconcile tick --
    _Field(
        "live.auto_end_grace_seconds",
        "GOLIVE_AUTO_END_GRACE_SECONDS",
        120,
        _seconds(10, 3600),
        "auto_end_grace",
    ),
    _Field(
        "live.reconcile_seconds",
        "GOLIVE_RECONCILE_SECONDS",
        30,
        _seconds(1, 600),
        "reconcile_interval",
    ),
    # -- going live: media first (core/streams/service.py) --
    _Field(
        "streams.media_wait_seconds",
        "GOLIVE_MEDIA_WAIT_SECONDS",
        0,
        _seconds(0, 600),
        "media_wait",
    ),
    # -- chat and moderation --
    _Field("chat.max_length", "GOLIVE_CHAT_MAX_LENGTH", 500, _int_between(1, 2000)),
    _Field("chat.allow_guests", "GOLIVE_CHAT_ALLOW_GUESTS", False, _flag),
    _Field("chat.allow_links", "GOLIVE_CHAT_ALLOW_LINKS", False, _flag),
    _Field("chat.blocked_words", "GOLIVE_CHAT_BLOCKED_WORDS", [], _word_list),
    _Field("chat.person_burst", "GOLIVE_CHAT_PERSON_BURST", 5, _int_between(1, 1000)),
    _Field("chat.person_per_minute", "GOLIVE_CHAT_PERSON_PER_MINUTE", 20, _int_between(1, 60_000)),
    _Field("chat.ip_burst", "GOLIVE_CHAT_IP_BURST", 20, _int_between(1, 10_000)),
    _Field("chat.ip_per_minute", "GOLIVE_CHAT_IP_PER_MINUTE", 120, _int_between(1, 600_000)),
    _Field(
        "moderation.kick_block_minutes",
        "GOLIVE_KICK_BLOCK_MINUTES",
        10,
        _minutes(1, 24 * 60),
        "kick_block",
    ),
    # -- the stage: guests beside the streamer (core/stage) --
    _Field("stage.max_guests", "GOLIVE_STAGE_MAX_GUESTS", 3, _int_between(1, 12)),
    _Field(
        "stage.invite_seconds",
        "GOLIVE_STAGE_INVITE_SECONDS",
        120,
        _seconds(15, 3600),
        "invite_ttl",
    ),
    # -- recording with LiveKit egress (core/live/recording.py) --
    _Field("recording.output", "GOLIVE_RECORDING_OUTPUT", "none", _recording_output),
    _Field("recording.record_all", "GOLIVE_RECORD_ALL", False, _flag),
    _Field("recording.file_prefix", "GOLIVE_RECORDING_PREFIX", "recordings/", _path_prefix),
    _Field(
        "recording.public_url",
        "GOLIVE_RECORDING_PUBLIC_URL",
        None,
        _optional_url("http", "https"),
    ),
    _Field("recording.s3_bucket", "GOLIVE_S3_BUCKET", None, _optional_text),
    _Field("recording.s3_region", "GOLIVE_S3_REGION", None, _optional_text),
    _Field("recording.s3_endpoint", "GOLIVE_S3_ENDPOINT", None, _optional_url("http", "https")),
    _Field("recording.s3_access_key", "GOLIVE_S3_ACCESS_KEY", None, _optional_text),
    _Field("recording.s3_secret", "GOLIVE_S3_SECRET", None, _optional_text),
    _Field("recording.s3_force_path_style", "GOLIVE_S3_FORCE_PATH_STYLE", False, _flag),
    _Field("recording.local_dir", "GOLIVE_RECORDING_DIR", None, _optional_path),
    _Field(
        "recording.retention_days",
        "GOLIVE_RECORDING_RETENTION_DAYS",
        0,
        _int_between(0, 36_500),
    ),
    # -- thumbnails of live streams, with LiveKit egress (core/live/thumbnails.py) --
    _Field("thumbnails.directory", "GOLIVE_THUMBNAILS_DIR", None, _optional_absolute_folder),
    _Field(
        "thumbnails.interval_seconds",
        "GOLIVE_THUMBNAIL_INTERVAL_SECONDS",
        30,
        _seconds(5, 600),
        "interval",
    ),
)

_KNOWN_KEYS = {field.key for field in _FIELDS}
_ENV_OF = {field.key: field.env for field in _FIELDS}


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
    """Read settings from config.toml (or $GOLIVE_CONFIG), .env and the environment.

    Everything is checked here, the rules that span keys included, so a wrong setting stops
    golive before it opens the database or reaches LiveKit.
    """
    env: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.exists():
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    config_path = env.get("GOLIVE_CONFIG")
    from_file = _read_toml(
        Path(config_path) if config_path else DEFAULT_CONFIG_PATH, required=config_path is not None
    )
    loaded = _Loaded({}, {})
    for field in _FIELDS:
        raw, source = field.default, field.key
        if field.key in from_file:
            raw = from_file[field.key]
        if env.get(field.env, "") != "":
            raw, source = env[field.env], field.env
        loaded.sources[field.key] = source
        try:
            loaded.values[field.key] = field.parse(raw)
        except ValueError as error:
            raise ConfigError(source, str(error)) from None
    _fill_in_defaults(loaded.values)
    for check in _CHECKS:
        check(loaded)
    return _sections(loaded.values)


@dataclass(frozen=True)
class _Loaded:
    """Parsed values by config.toml key, and where each came from, to name it in an error."""

    values: dict[str, Any]
    sources: dict[str, str]  # the environment variable when it was set there, else the key

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def name(self, key: str) -> str:
        return self.sources[key]

    def where(self, *keys: str) -> str:
        """How to set keys that are missing, for the operator: "(in config.toml or as ENV)"."""
        return f"(in config.toml or as {' / '.join(_ENV_OF[key] for key in keys)})"


def _fill_in_defaults(values: dict[str, Any]) -> None:
    """The defaults that depend on other settings."""
    # 0 shards and no ids: Discord's recommended count, every shard in this process.
    values["discord.shard_count"] = values["discord.shard_count"] or None
    values["discord.shard_ids"] = values["discord.shard_ids"] or None
    if values["livekit.public_url"] is None:
        # Browsers need a WebSocket URL; derive it from the server-side one.
        url: str = values["livekit.url"]
        values["livekit.public_url"] = (
            url.replace("http", "ws", 1) if url.startswith("http") else url
        )
    if values["web.public_url"] is None:
        host = values["web.host"] if values["web.host"] not in {"0.0.0.0", "::"} else "localhost"  # noqa: S104
        values["web.public_url"] = f"http://{host}:{values['web.port']}"


def _check_ranges(loaded: _Loaded) -> None:
    for low, high, what in (
        ("tips.min", "tips.max", "tip"),
        ("wallet.topup_min", "wallet.topup_max", "top-up"),
    ):
        if loaded[low] > loaded[high]:
            raise ConfigError(
                loaded.name(low),
                f"is {loaded[low]}, above {loaded.name(high)} ({loaded[high]}): "
                f"the smallest {what} can't be larger than the largest",
            )


def _check_fees(loaded: _Loaded) -> None:
    if loaded["fees.mode"] == "pass" and loaded["fees.golive_fee"] > 0:
        raise ConfigError(
            loaded.name("fees.golive_fee"),
            f'is {loaded["fees.golive_fee"]}, but {loaded.name("fees.mode")} is "pass": members '
            'pay for a pass, not per go-live; set the fee to 0 or the mode to "per_golive"',
        )


def _check_both_or_neither(loaded: _Loaded, first: str, second: str, needs: str) -> None:
    """Two settings that only work together (a key and its secret): one alone is a mistake."""
    if (loaded[first] is None) == (loaded[second] is None):
        return
    missing, given = (first, second) if loaded[first] is None else (second, first)
    raise ConfigError(
        loaded.name(missing),
        f"must be set too {loaded.where(missing)}: {loaded.name(given)} is set, and {needs} both",
    )


def _check_tip_presets(loaded: _Loaded) -> None:
    low, high = loaded["tips.min"], loaded["tips.max"]
    for amount in loaded["tips.presets"]:
        if not low <= amount <= high:
            raise ConfigError(
                loaded.name("tips.presets"),
                f"has {amount}, outside {loaded.name('tips.min')}..{loaded.name('tips.max')} "
                f"({low}..{high}): the tip form would offer an amount the server refuses",
            )


def _check_discord_sign_in(loaded: _Loaded) -> None:
    _check_both_or_neither(
        loaded, "discord.client_id", "discord.client_secret", "Sign in with Discord needs"
    )


def _check_stripe(loaded: _Loaded) -> None:
    _check_both_or_neither(
        loaded, "stripe.secret_key", "stripe.webhook_secret", "top-ups with Stripe need"
    )


def _check_recording(loaded: _Loaded) -> None:
    output = loaded.name("recording.output")
    if loaded["recording.output"] == "s3":
        if loaded["recording.s3_bucket"] is None:
            raise ConfigError(
                loaded.name("recording.s3_bucket"),
                f'must be set {loaded.where("recording.s3_bucket")} when {output} is "s3"',
            )
        if loaded["recording.s3_region"] is None and loaded["recording.s3_endpoint"] is None:
            raise ConfigError(
                loaded.name("recording.s3_region"),
                f"or {loaded.name('recording.s3_endpoint')} must be set "
                f'{loaded.where("recording.s3_region", "recording.s3_endpoint")} when {output} is "s3"',
            )
    _check_both_or_neither(
        loaded, "recording.s3_access_key", "recording.s3_secret", "the bucket's credentials are"
    )


def _check_stage(loaded: _Loaded) -> None:
    # An invitation reaches Discord members as a one-time sign-in link: a link that dies before
    # the invitation would leave them unable to accept from it.
    if loaded["stage.invite_seconds"] > loaded["security.login_link_minutes"]:
        raise ConfigError(
            loaded.name("stage.invite_seconds"),
            f"is {int(loaded['stage.invite_seconds'].total_seconds())} seconds, longer than "
            f"{loaded.name('security.login_link_minutes')} "
            f"({int(loaded['security.login_link_minutes'].total_seconds() // 60)} minutes): the "
            "sign-in link that carries an invitation would expire before the invitation does",
        )


def _check_metrics(loaded: _Loaded) -> None:
    if loaded["metrics.enabled"] and loaded["metrics.token"] is None:
        raise ConfigError(
            loaded.name("metrics.token"),
            f"must be set {loaded.where('metrics.token')} when {loaded.name('metrics.enabled')} "
            "is true: /metrics is only served to scrapers that send it as a bearer token",
        )


def _check_shards(loaded: _Loaded) -> None:
    ids, count = loaded["discord.shard_ids"], loaded["discord.shard_count"]
    if ids is None:
        return
    if count is None:
        raise ConfigError(
            loaded.name("discord.shard_count"),
            f"must be set {loaded.where('discord.shard_count')} when "
            f"{loaded.name('discord.shard_ids')} is: which shard a guild is on depends on the "
            "total count, so every bot process must be given the same one",
        )
    outside = [shard for shard in ids if shard >= count]
    if outside:
        raise ConfigError(
            loaded.name("discord.shard_ids"),
            f"has {', '.join(map(str, outside))}, but {loaded.name('discord.shard_count')} is "
            f"{count}: shard ids run from 0 to {count - 1}",
        )


def _check_shared_database(loaded: _Loaded) -> None:
    url = loaded["database.url"]
    if url and url.startswith(("postgresql://", "postgres://")) and not loaded["security.secret"]:
        raise ConfigError(
            loaded.name("security.secret"),
            f"must be set {loaded.where('security.secret')} when {loaded.name('database.url')} is "
            "PostgreSQL: every golive process signs links and sessions with it, so they must "
            "all share one (a generated one lives beside a SQLite file, on one machine)",
        )


_CHECKS: tuple[Callable[[_Loaded], None], ...] = (
    _check_shards,
    _check_ranges,
    _check_shared_database,
    _check_metrics,
    _check_fees,
    _check_tip_presets,
    _check_discord_sign_in,
    _check_stripe,
    _check_recording,
    _check_stage,
)

_SECTIONS: dict[str, type[Any]] = {
    "discord": DiscordSettings,
    "livekit": LiveKitSettings,
    "database": DatabaseSettings,
    "web": WebSettings,
    "security": SecuritySettings,
    "fees": FeesSettings,
    "tips": TipsSettings,
    "wallet": WalletSettings,
    "stripe": StripeSettings,
    "log": LogSettings,
    "metrics": MetricsSettings,
    "live": LiveSettings,
    "streams": StreamsSettings,
    "chat": ChatSettings,
    "moderation": ModerationSettings,
    "stage": StageSettings,
    "recording": RecordingSettings,
    "thumbnails": ThumbnailSettings,
}


def _sections(values: Mapping[str, Any]) -> Settings:
    fields: dict[str, dict[str, Any]] = {section: {} for section in _SECTIONS}
    for field in _FIELDS:
        fields[field.section][field.name] = values[field.key]
    return Settings(**{name: kind(**fields[name]) for name, kind in _SECTIONS.items()})


def settings_table() -> list[tuple[str, str, str]]:
    """(toml key, environment variable, default) for every setting, for docs and tests."""
    return [(f.key, f.env, "" if f.default is None else str(f.default)) for f in _FIELDS]

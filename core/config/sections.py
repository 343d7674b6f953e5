"""The settings, one frozen dataclass per section of config.toml.

A service takes its own section (TipService takes `TipsSettings`, ChatService `ChatSettings`, …),
so each section is also the policy object of its service. Values arrive parsed and checked by
`load_settings`: durations are `timedelta`s, sizes are bytes, and rules that span keys (the
smallest tip is not above the largest, Stripe's two secrets come together, …) already hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

FeeMode = Literal["per_golive", "pass"]
RecordingOutput = Literal["none", "file", "s3"]


@dataclass(frozen=True)
class DiscordSettings:
    token: str | None  # without it only the web sidecar runs
    # "Sign in with Discord" (OAuth2): the application's id and secret, both or neither.
    client_id: str | None
    client_secret: str | None
    api_base: str  # https://discord.com/api/v10 (a test double elsewhere)
    authorize_url: str  # https://discord.com/oauth2/authorize
    # discord.py's sharding (AutoShardedBot). None: as many shards as Discord recommends.
    shard_count: int | None = None
    # The shards this process runs (each below shard_count, which the loader then requires).
    # None: all of them.
    shard_ids: tuple[int, ...] | None = None

    @property
    def sign_in_enabled(self) -> bool:
        # The loader lets the id and the secret come only together.
        return bool(self.client_id and self.client_secret)

    def owns_guild(self, guild_id: int) -> bool:
        """Whether a guild's events are this process's: its shard, (id >> 22) % shard_count,
        is one this process runs. A process that runs every shard owns every guild."""
        if self.shard_ids is None or self.shard_count is None:
            return True
        return (guild_id >> 22) % self.shard_count in self.shard_ids

    @property
    def shard_scope(self) -> str:
        """The shards of this process in words for lease names ("shards 0,1/4"); "" for all."""
        if self.shard_ids is None or self.shard_count is None:
            return ""
        return f"shards {','.join(map(str, self.shard_ids))}/{self.shard_count}"


@dataclass(frozen=True)
class LiveKitSettings:
    url: str  # where golive reaches LiveKit's server API
    public_url: str  # where browsers reach LiveKit (a ws:// or wss:// URL)
    api_key: str
    api_secret: str
    token_ttl: timedelta
    timeout: timedelta  # the longest golive waits for one answer from LiveKit's server API


@dataclass(frozen=True)
class DatabaseSettings:
    path: Path  # the SQLite file (the embedded default)
    busy_timeout: timedelta  # the longest a write waits for another process's write lock
    url: str | None = None  # postgresql://… (the shared store); None: the SQLite file at `path`

    def __post_init__(self) -> None:
        # database.url may also name a SQLite file ("data/golive.db", "sqlite:///data/golive.db"):
        # then it is the path, so there is one place that says which file it is.
        if self.url is not None and not self.url.startswith(("postgresql://", "postgres://")):
            object.__setattr__(self, "path", Path(self.url.removeprefix("sqlite:///")))
            object.__setattr__(self, "url", None)

    @property
    def target(self) -> Path | str:
        """What ``Database.open`` takes: the PostgreSQL URL, else the SQLite path."""
        return self.url or self.path

    @property
    def shown(self) -> str:
        """The database as logs and messages name it: never with its password."""
        if self.url is None:
            return str(self.path)
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class WebSettings:
    host: str
    port: int
    public_url: str  # the base of every link golive hands out, without a trailing slash
    max_body_bytes: int
    proxy_hops: int
    shutdown_grace: timedelta  # how long a stopping process lets in-flight requests finish

    @property
    def cookies_secure(self) -> bool:
        """Mark cookies Secure whenever people reach us over HTTPS."""
        return self.public_url.startswith("https://")


@dataclass(frozen=True)
class SecuritySettings:
    secret: str | None  # None: one is generated beside the database
    login_link_ttl: timedelta
    session_ttl: timedelta


@dataclass(frozen=True)
class FeesSettings:
    """What going live costs: a fee per go-live, or a streaming pass."""

    mode: FeeMode
    golive_fee: int  # 0: going live is free
    pass_price: int
    pass_days: int

    @property
    def charges(self) -> bool:
        return self.mode == "pass" or self.golive_fee > 0


@dataclass(frozen=True)
class TipsSettings:
    minimum: int
    maximum: int
    message_max: int  # 0: tips carry no message
    blocked_words: tuple[str, ...]
    presets: tuple[int, ...]  # the tip form's one-tap amounts; empty: derived from the limits

    def form_presets(self) -> tuple[int, ...]:
        """The one-tap amounts the tip form offers: the configured ones, else 5x, 10x and 50x
        the smallest tip (50 / 100 / 500 with the default minimum of 10), within the limits."""
        if self.presets:
            return self.presets
        derived = {min(self.maximum, self.minimum * factor) for factor in (5, 10, 50)}
        return tuple(sorted(derived))


@dataclass(frozen=True)
class WalletSettings:
    topup_min: int
    topup_max: int
    payout_min: int


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str | None
    webhook_secret: str | None
    currency: str
    cents_per_credit: int
    api_base: str | None  # only for stripe-mock or a test double

    @property
    def enabled(self) -> bool:
        # The loader lets the two secrets come only together.
        return bool(self.secret_key and self.webhook_secret)


LogFormat = Literal["text", "json"]


@dataclass(frozen=True)
class LogSettings:
    level: str
    format: LogFormat  # "json": one JSON object per line, for log collectors


@dataclass(frozen=True)
class MetricsSettings:
    """GET /metrics (Prometheus). The loader makes sure an enabled endpoint has its token."""

    enabled: bool
    token: str | None  # scrapers send `Authorization: Bearer <token>`


@dataclass(frozen=True)
class LiveSettings:
    auto_end_grace: timedelta
    reconcile_interval: timedelta


@dataclass(frozen=True)
class StreamsSettings:
    """When a stream counts as live for viewers: at its first video (media first)."""

    # 0: only video takes a stream on air; else a session with no video seen after this long
    # goes on air anyway (for a LiveKit that sends no webhooks and lists no tracks).
    media_wait: timedelta


@dataclass(frozen=True)
class ChatSettings:
    max_length: int
    allow_guests: bool
    allow_links: bool
    blocked_words: tuple[str, ...]
    person_burst: int
    person_per_minute: int
    ip_burst: int
    ip_per_minute: int


@dataclass(frozen=True)
class ModerationSettings:
    kick_block: timedelta


@dataclass(frozen=True)
class StageSettings:
    """Guests on a streamer's stage: how many at once, and how long an invitation stands."""

    max_guests: int
    invite_ttl: timedelta


@dataclass(frozen=True)
class RecordingSettings:
    """Where recordings go. With output "s3" the loader has made sure there is a bucket."""

    output: RecordingOutput
    record_all: bool
    file_prefix: str
    public_url: str | None
    s3_bucket: str | None
    s3_region: str | None
    s3_endpoint: str | None
    s3_access_key: str | None
    s3_secret: str | None
    s3_force_path_style: bool
    # The egress's output folder as golive sees it (a shared volume), for output "file": golive
    # then plays the files on its VOD pages itself and deletes them. None: golive can't reach them.
    local_dir: Path | None = None
    # Recordings older than this many days are deleted (file and row); 0 keeps them for ever.
    retention_days: int = 0

    @property
    def problem(self) -> str | None:
        """Why nothing can be recorded, in words for the operator; None when it can."""
        if self.output == "none":
            return 'recording.output is "none"'
        return None

    def filepath(self, slug: str, room_name: str) -> str:
        return f"{self.file_prefix}{slug}/{room_name}.mp4"

    def link(self, filename: str | None, location: str | None) -> str | None:
        """Where people can fetch a recording: under `public_url`, else an S3 upload's URL."""
        if self.public_url and filename:
            return f"{self.public_url}/{filename.lstrip('/')}"
        if location and location.startswith(("https://", "http://")):
            return location
        return None

    def local_file(self, filename: str | None) -> Path | None:
        """Where golive reads a finished file, if it can: inside `local_dir`, never outside it."""
        if self.local_dir is None or self.output != "file" or not filename:
            return None
        root = self.local_dir.resolve()
        path = (root / filename.lstrip("/")).resolve()
        return path if path.is_relative_to(root) and path != root else None


@dataclass(frozen=True)
class ThumbnailSettings:
    """Snapshots of live streams by LiveKit egress (image output) into a folder golive serves."""

    # The folder the egress service writes into and golive reads from: the same path for both
    # (a shared volume). None: no thumbnails, the pages show their gradient.
    directory: Path | None
    interval: timedelta  # how often the egress captures a new snapshot

    @property
    def enabled(self) -> bool:
        return self.directory is not None


@dataclass(frozen=True)
class Settings:
    """Everything golive is configured with, in config.toml's sections."""

    discord: DiscordSettings
    livekit: LiveKitSettings
    database: DatabaseSettings
    web: WebSettings
    security: SecuritySettings
    fees: FeesSettings
    tips: TipsSettings
    wallet: WalletSettings
    stripe: StripeSettings
    log: LogSettings
    metrics: MetricsSettings
    live: LiveSettings
    streams: StreamsSettings
    chat: ChatSettings
    moderation: ModerationSettings
    stage: StageSettings
    recording: RecordingSettings
    thumbnails: ThumbnailSettings

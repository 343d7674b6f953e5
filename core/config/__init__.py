"""Settings in config.toml's sections: config.toml, then .env, then the environment.

The public module: other packages import from here, never from the modules inside."""

from core.config.sections import (
    ChatSettings,
    DatabaseSettings,
    DiscordSettings,
    FeeMode,
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
from core.config.settings import load_settings

__all__ = [
    "ChatSettings",
    "DatabaseSettings",
    "DiscordSettings",
    "FeeMode",
    "FeesSettings",
    "LiveKitSettings",
    "LiveSettings",
    "LogSettings",
    "MetricsSettings",
    "ModerationSettings",
    "RecordingSettings",
    "SecuritySettings",
    "Settings",
    "StageSettings",
    "StreamsSettings",
    "StripeSettings",
    "ThumbnailSettings",
    "TipsSettings",
    "WalletSettings",
    "WebSettings",
    "load_settings",
]

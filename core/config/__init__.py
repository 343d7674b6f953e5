"""Settings: config.toml, then .env, then the environment.

The public module: other packages import from here, never from the modules inside."""

from core.config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]

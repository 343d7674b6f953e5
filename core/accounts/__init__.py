"""Web identity: one-time login links, Sign in with Discord, and the sessions they open.

The public module: other packages import from here, never from the modules inside."""

from core.accounts.auth import AuthService, Identity, is_local_path
from core.accounts.discord_oauth import (
    SIGN_IN_TTL,
    Authorization,
    DiscordSignIn,
    DiscordUnavailable,
    pkce_challenge,
)

__all__ = [
    "SIGN_IN_TTL",
    "AuthService",
    "Authorization",
    "DiscordSignIn",
    "DiscordUnavailable",
    "Identity",
    "is_local_path",
    "pkce_challenge",
]

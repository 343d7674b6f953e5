"""Web identity: one-time login links and the sessions they open.

The public module: other packages import from here, never from the modules inside."""

from core.accounts.auth import AuthService, Identity

__all__ = ["AuthService", "Identity"]

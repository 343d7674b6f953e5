"""Where "Sign in with Discord" leads from the page being shown, and the paths sign-in may
return to (this site's pages only: never an open redirect)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from core.accounts import is_local_path
from web.keys import SERVICES

DISCORD_START = "/auth/discord"
# Coming back to these would start signing in again, or spend a link twice.
_NOT_A_DESTINATION = ("/auth/", "/login/", "/logout")
DEFAULT_NEXT = "/live"


def local_path_or(value: str | None, default: str = DEFAULT_NEXT) -> str:
    """`value` when it is a page of this site, else `default`."""
    return value if value is not None and is_local_path(value) else default


def sign_in_href(request: web.Request) -> str | None:
    """The "Sign in with Discord" link for this page (it comes back here), or None when Sign in
    with Discord is not set up."""
    if not request.app[SERVICES].discord_sign_in.enabled:
        return None
    here = request.path_qs
    if request.method != "GET" or not is_local_path(here) or here.startswith(_NOT_A_DESTINATION):
        here = DEFAULT_NEXT
    return f"{DISCORD_START}?next={quote(here, safe='/')}"

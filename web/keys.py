"""Typed keys for what the app and each request carry."""

from __future__ import annotations

from aiohttp import web

from core.accounts import Identity
from core.services import Services

SERVICES = web.AppKey("services", Services)
CSP = web.AppKey("csp", str)

SESSION_COOKIE = "golive_session"
# The signed-in member, or None.
IDENTITY: web.RequestKey[Identity | None] = web.RequestKey("identity")


def identity_of(request: web.Request) -> Identity | None:
    identity: Identity | None = request.get(IDENTITY)
    return identity

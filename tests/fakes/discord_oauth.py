"""A Discord OAuth2 double: the authorize page, `POST /api/v10/oauth2/token` and
`GET /api/v10/users/@me`, speaking what Discord speaks.

- The authorize page checks the request as Discord does (client id, the registered redirect URI,
  `response_type=code`, the scope, a PKCE S256 challenge) and, instead of a consent screen,
  redirects straight back with `?code=…&state=…` as the user it is told to be (or with
  `?error=access_denied` when told the user presses Cancel).
- The token endpoint takes form-encoded bodies only, client authentication by HTTP Basic or in
  the body, and checks the PKCE verifier against the challenge; a code works once, with the
  redirect URI it was issued for, and a wrong verifier spends it too (as Discord does).
- `/users/@me` wants `Authorization: Bearer <access token>`.

It can be told to fail: `token_status` / `users_status` answer that status instead.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestServer

CLIENT_ID = "123456789012345678"
CLIENT_SECRET = "discord-oauth-client-secret-0123456789"


@dataclass
class DiscordUser:
    id: str
    username: str
    global_name: str | None = None


@dataclass
class _Grant:
    user: DiscordUser
    redirect_uri: str
    challenge: str


@dataclass
class FakeDiscordOAuth:
    redirect_uris: set[str] = field(default_factory=set)
    user: DiscordUser = field(default_factory=lambda: DiscordUser("555000111", "carol", "Carol"))
    deny: bool = False  # the user presses Cancel on the consent screen
    token_status: int | None = None  # answer the token endpoint with this status instead
    users_status: int | None = None  # answer /users/@me with this status instead
    url: str = ""
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # the token endpoint's error codes
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _tokens: dict[str, DiscordUser] = field(default_factory=dict)

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth2/authorize"

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        self.authorizations.append(dict(query))
        redirect_uri = query.get("redirect_uri", "")
        problem = self._authorize_problem(query)
        if problem:
            # Discord shows its own error page and never sends the browser back.
            return web.Response(status=400, text=problem)
        back = {"state": query["state"]} if "state" in query else {}
        if self.deny:
            back = {
                "error": "access_denied",
                "error_description": "The resource owner or "
                "authorization server denied the request",
                **back,
            }
        else:
            code = secrets.token_urlsafe(16)
            self._codes[code] = _Grant(self.user, redirect_uri, query["code_challenge"])
            back = {"code": code, **back}
        raise web.HTTPFound(f"{redirect_uri}?{urlencode(back)}")

    def _authorize_problem(self, query: Any) -> str | None:
        if query.get("client_id") != CLIENT_ID:
            return "Unknown Application"
        if query.get("redirect_uri") not in self.redirect_uris:
            return "Invalid OAuth2 redirect_uri"
        if query.get("response_type") != "code":
            return "Invalid response_type"
        if "identify" not in query.get("scope", "").split():
            return "Invalid scope"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return "Invalid code_challenge"
        return None

    async def token(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            return self._refuse("invalid_request", 400, "form-encoded bodies only")
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.token_requests.append(form)
        if self.token_status is not None:
            return web.json_response({"message": "Service Unavailable"}, status=self.token_status)
        if not self._client_authenticated(request, form):
            return self._refuse("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return self._refuse("unsupported_grant_type", 400)
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once, whatever comes
        if grant is None:
            return self._refuse("invalid_grant", 400, 'Invalid "code" in request.')
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._refuse("invalid_grant", 400, 'Invalid "redirect_uri" in request.')
        if challenge_of(form.get("code_verifier", "")) != grant.challenge:
            return self._refuse("invalid_grant", 400, 'Invalid "code_verifier" in request.')
        access_token = secrets.token_urlsafe(24)
        self._tokens[access_token] = grant.user
        return web.json_response(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 604800,
                "refresh_token": secrets.token_urlsafe(24),
                "scope": "identify",
            }
        )

    def _client_authenticated(self, request: web.Request, form: dict[str, str]) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                who, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
        else:
            who, secret = form.get("client_id", ""), form.get("client_secret", "")
        return who == CLIENT_ID and secret == CLIENT_SECRET

    def _refuse(self, error: str, status: int, description: str = "") -> web.Response:
        self.refusals.append(error)
        body = {"error": error, **({"error_description": description} if description else {})}
        return web.json_response(body, status=status)

    async def users_me(self, request: web.Request) -> web.Response:
        if self.users_status is not None:
            return web.json_response({"message": "Service Unavailable"}, status=self.users_status)
        header = request.headers.get("Authorization", "")
        user = self._tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if user is None:
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return web.json_response(
            {
                "id": user.id,
                "username": user.username,
                "global_name": user.global_name,
                "discriminator": "0",
                "avatar": None,
            }
        )


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@asynccontextmanager
async def running_fake_discord_oauth(*redirect_uris: str) -> AsyncIterator[FakeDiscordOAuth]:
    fake = FakeDiscordOAuth(redirect_uris=set(redirect_uris))
    app = web.Application()
    app.router.add_get("/oauth2/authorize", fake.authorize)
    app.router.add_post("/api/v10/oauth2/token", fake.token)
    app.router.add_get("/api/v10/users/@me", fake.users_me)
    async with TestServer(app, host="127.0.0.1") as server:
        fake.url = str(server.make_url("")).rstrip("/")
        yield fake

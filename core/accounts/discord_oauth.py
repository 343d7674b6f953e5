"""Sign in with Discord: OAuth2's authorization code flow with `state` and PKCE (S256), scope
`identify`, ending in the same web session a one-time login link opens.

`begin` writes one row per sign-in started (the state's HMAC, the PKCE verifier, where to go
back to) and hands out Discord's authorize URL; `finish` spends that row with one conditional
UPDATE (so a state works once, in whichever process Discord's redirect reaches), trades the code
and the verifier for a token at Discord, asks `/users/@me` who it is, and opens the session. The
token is used for that one question and then forgotten: golive keeps nothing of it.

Who may sign in: anyone with a Discord account, as anyone may watch. `identify` tells us the
account, not the servers it is in, so sign-in does not check community membership; what a
member may do stays decided where it is today, by their Discord id (bans and timeouts in chat,
the stage and streaming, kicks at the token endpoint), whichever way they signed in.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp

from core.accounts.auth import AuthService, Identity, is_local_path
from core.config import DiscordSettings
from core.kernel.clock import Clock
from core.kernel.errors import GoLiveError, InvalidInput, NotFound
from core.kernel.timefmt import to_db
from core.store import Database

log = logging.getLogger(__name__)

SCOPE = "identify"
SIGN_IN_TTL = timedelta(minutes=10)  # time enough to read Discord's consent screen
DISCORD_SECONDS = 10  # the longest one call to Discord may take
CALLBACK_PATH = "/auth/discord/callback"
NAME_MAX = 100


class DiscordUnavailable(GoLiveError):
    """Discord did not answer, or answered something we can't use; nothing was signed in."""


@dataclass(frozen=True)
class Authorization:
    """Where to send the browser, and the state it must bring back (also kept in a cookie)."""

    url: str
    state: str


class DiscordSignIn:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        http: aiohttp.ClientSession,
        auth: AuthService,
        config: DiscordSettings,
        *,
        public_url: str,
    ) -> None:
        self._db = db
        self._clock = clock
        self._http = http
        self._auth = auth
        self.config = config
        self.redirect_uri = public_url.rstrip("/") + CALLBACK_PATH

    @property
    def enabled(self) -> bool:
        return self.config.sign_in_enabled

    async def begin(self, next_path: str) -> Authorization:
        """Start a sign-in that returns to `next_path`: Discord's authorize URL and its state."""
        self._require_enabled()
        if not is_local_path(next_path):
            raise InvalidInput("Signing in can only take you back to a page of this site.")
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)  # 64 characters, within PKCE's 43..128
        now = self._clock.now()
        async with self._db.transaction() as tx:
            # Spent and expired sign-ins are worth nothing; keep the table small.
            await tx.execute("DELETE FROM discord_sign_ins WHERE expires_at < ?", (to_db(now),))
            await tx.execute(
                "INSERT INTO discord_sign_ins (state_hash, code_verifier, next_path, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?)",
                (
                    self._auth.token_hash(state),
                    verifier,
                    next_path,
                    to_db(now),
                    to_db(now + SIGN_IN_TTL),
                ),
            )
        query = urlencode(
            {
                "client_id": self.config.client_id,
                "response_type": "code",
                "redirect_uri": self.redirect_uri,
                "scope": SCOPE,
                "state": state,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
                # Someone who already allowed golive goes straight back, without the screen again.
                "prompt": "none",
            }
        )
        return Authorization(url=f"{self.config.authorize_url}?{query}", state=state)

    async def pending_next_path(self, state: str) -> str | None:
        """Where an unspent, unexpired sign-in meant to return (for a "try again" link)."""
        row = await self._db.fetch_one(
            "SELECT next_path FROM discord_sign_ins"
            " WHERE state_hash = ? AND used_at IS NULL AND expires_at > ?",
            (self._auth.token_hash(state), to_db(self._clock.now())),
        )
        return None if row is None else str(row["next_path"])

    async def finish(self, state: str, code: str) -> tuple[str, str]:
        """Spend the state, ask Discord who signed in, open a session: (session token, next path).

        Raises InvalidInput for a state that is unknown, expired or spent (nothing written), and
        DiscordUnavailable when Discord can't be asked (the state is spent: start again)."""
        self._require_enabled()
        spent = await self._spend(state)
        if spent is None:
            raise InvalidInput(
                "This sign-in has expired or was already used. Start again from the page you "
                "were on."
            )
        verifier, next_path = spent
        access_token = await self._exchange(code, verifier)
        identity = await self._who_is(access_token)
        async with self._db.transaction() as tx:
            session_token = await self._auth.open_session(tx, identity)
        log.info("member %s signed in with Discord", identity.user_id)
        return session_token, next_path

    async def _spend(self, state: str) -> tuple[str, str] | None:
        state_hash = self._auth.token_hash(state)
        now = to_db(self._clock.now())
        # Look first, so a refused state writes nothing at all (not even a transaction).
        row = await self._db.fetch_one(
            "SELECT code_verifier, next_path FROM discord_sign_ins"
            " WHERE state_hash = ? AND used_at IS NULL AND expires_at > ?",
            (state_hash, now),
        )
        if row is None:
            return None
        async with self._db.transaction() as tx:
            spent = await tx.execute(
                "UPDATE discord_sign_ins SET used_at = ? WHERE state_hash = ?"
                " AND used_at IS NULL AND expires_at > ?",
                (now, state_hash, now),
            )
        # Two redirects racing with one state: exactly one of them spends it.
        return (str(row["code_verifier"]), str(row["next_path"])) if spent else None

    async def _exchange(self, code: str, verifier: str) -> str:
        """Discord's token endpoint: the code and the PKCE verifier for an access token."""
        client_id, client_secret = self.config.client_id or "", self.config.client_secret or ""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        answer = await self._call(
            "POST",
            "/oauth2/token",
            data=form,
            headers={"Authorization": aiohttp.encode_basic_auth(client_id, client_secret)},
        )
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            log.warning("Discord's token endpoint answered without an access token")
            raise _unavailable()
        return token

    async def _who_is(self, access_token: str) -> Identity:
        user = await self._call(
            "GET", "/users/@me", headers={"Authorization": f"Bearer {access_token}"}
        )
        return self._identity_from(user)

    def _identity_from(self, user: dict[str, Any]) -> Identity:
        user_id, username = user.get("id"), user.get("username")
        if not (isinstance(user_id, str) and user_id.isdigit() and len(user_id) <= 20):
            log.warning("Discord's /users/@me answered without a usable id")
            raise _unavailable()
        if not isinstance(username, str) or not username.strip():
            log.warning("Discord's /users/@me answered without a username")
            raise _unavailable()
        global_name = user.get("global_name")
        display = global_name if isinstance(global_name, str) and global_name.strip() else username
        return Identity(int(user_id), username.strip()[:NAME_MAX], display.strip()[:NAME_MAX])

    async def _call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        """One call to Discord's API, bounded in time; any failure is DiscordUnavailable.

        Only the status and the path are logged: answers carry tokens."""
        url = self.config.api_base + path
        try:
            async with (
                asyncio.timeout(DISCORD_SECONDS),
                self._http.request(method, url, **options) as response,
            ):
                if response.status != 200:
                    log.warning("Discord answered %s to %s %s", response.status, method, path)
                    raise _unavailable()
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            log.warning(
                "Discord could not be asked (%s %s): %s", method, path, type(error).__name__
            )
            raise _unavailable() from error
        if not isinstance(answer, dict):
            raise _unavailable()
        return answer

    def _require_enabled(self) -> None:
        if not self.enabled:
            raise NotFound("Sign in with Discord isn't set up on this site.")


def pkce_challenge(verifier: str) -> str:
    """PKCE's S256: base64url(sha256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _unavailable() -> DiscordUnavailable:
    return DiscordUnavailable(
        "Discord didn't confirm who you are, so you are not signed in. Try again in a minute."
    )

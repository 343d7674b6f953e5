"""Web identity: one-time login links handed out by the bot, and the sessions they open.

Tokens are random; the database keeps only an HMAC of each (keyed with GOLIVE_SECRET), so a copy
of the database is not a key to anyone's account. A link is spent by one conditional UPDATE, so
two clicks racing (or two web replicas) can never both sign in with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from core.kernel.clock import Clock
from core.kernel.errors import InvalidInput, NotAuthenticated
from core.kernel.timefmt import to_db
from core.store import Database, Transaction


@dataclass(frozen=True)
class Identity:
    """Who is signed in on the web: a Discord member."""

    user_id: int
    username: str
    display_name: str


@dataclass(frozen=True)
class LoginLink:
    token: str
    url: str
    expires_in: timedelta


class AuthService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        secret: str,
        public_url: str,
        link_ttl: timedelta,
        session_ttl: timedelta,
    ) -> None:
        self._db = db
        self._clock = clock
        self._key = secret.encode()
        self._public_url = public_url.rstrip("/")
        self.link_ttl = link_ttl
        self.session_ttl = session_ttl

    async def create_login_link(self, identity: Identity, next_path: str) -> LoginLink:
        """A link that signs `identity` in once, within `link_ttl`, then opens `next_path`."""
        _require_local_path(next_path)
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO login_links (token_hash, user_id, username, display_name, next_path,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self._hash(token),
                    identity.user_id,
                    identity.username,
                    identity.display_name,
                    next_path,
                    to_db(now),
                    to_db(now + self.link_ttl),
                ),
            )
            # Spent and expired links are worth nothing; keep the table small.
            await tx.execute(
                "DELETE FROM login_links WHERE expires_at < ?", (to_db(now - timedelta(days=1)),)
            )
        return LoginLink(
            token=token, url=f"{self._public_url}/login/{token}", expires_in=self.link_ttl
        )

    async def redeem_login_link(self, token: str) -> tuple[str, str]:
        """Spend a link. Returns (session token, next path); refuses used or expired links."""
        token_hash = self._hash(token)
        now = self._clock.now()
        async with self._db.transaction() as tx:
            spent = await tx.execute(
                "UPDATE login_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
                " AND expires_at > ?",
                (to_db(now), token_hash, to_db(now)),
            )
            if not spent:
                raise NotAuthenticated(
                    "This sign-in link has already been used or has expired. "
                    "Ask the bot for a new one (for example with `/stream studio`)."
                )
            row = await tx.fetch_one(
                "SELECT * FROM login_links WHERE token_hash = ?", (token_hash,)
            )
            assert row is not None  # noqa: S101 - just updated
            identity = Identity(row["user_id"], row["username"], row["display_name"])
            session_token = await self.open_session(tx, identity)
        return session_token, str(row["next_path"])

    async def open_session(self, tx: Transaction, identity: Identity) -> str:
        """A new web session for `identity`, inside the caller's transaction: its token.

        Every way in (a login link, Sign in with Discord) ends here, so a session is the same
        thing, and lasts as long, whichever way the person signed in."""
        session_token = secrets.token_urlsafe(32)
        now = self._clock.now()
        await tx.execute(
            "INSERT INTO web_sessions (token_hash, user_id, username, display_name, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                self._hash(session_token),
                identity.user_id,
                identity.username,
                identity.display_name,
                to_db(now),
                to_db(now + self.session_ttl),
            ),
        )
        return session_token

    async def identity_for_session(self, session_token: str | None) -> Identity | None:
        if not session_token or len(session_token) > 200:
            return None
        row = await self._db.fetch_one(
            "SELECT user_id, username, display_name FROM web_sessions"
            " WHERE token_hash = ? AND expires_at > ?",
            (self._hash(session_token), to_db(self._clock.now())),
        )
        if row is None:
            return None
        return Identity(row["user_id"], row["username"], row["display_name"])

    async def end_session(self, session_token: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM web_sessions WHERE token_hash = ?", (self._hash(session_token),)
            )

    def token_hash(self, token: str) -> str:
        """What the database keeps of a token handed out (a link, a session, a sign-in's state)."""
        return self._hash(token)

    def _hash(self, token: str) -> str:
        # Tokens come from cookies and URLs: any text, even undecodable bytes (surrogateescape)
        # or lone surrogates, must hash to "no match" rather than raise.
        return hmac.new(
            self._key, token.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).hexdigest()


LOCAL_PATH_MAX = 1000


def is_local_path(path: str) -> bool:
    """Whether `path` is a page of this site, safe to send a browser to after signing in.

    Signing in must never become an open redirect. Browsers drop tabs and newlines from URLs (a
    tab between two slashes makes "//evil.com"), so no control characters; and they read a
    backslash as a slash."""
    return (
        path.startswith("/")
        and not path.startswith("//")
        and "\\" not in path
        and len(path) <= LOCAL_PATH_MAX
        and not any(ord(char) < 0x20 or ord(char) == 0x7F for char in path)
    )


def _require_local_path(path: str) -> None:
    if not is_local_path(path):
        raise InvalidInput("A login link can only lead to a page of this site.")

"""Domain errors. Each front (Discord, HTTP) maps them to its own way of saying no.

The message of every error here is written for the person who caused it: it is shown as is,
ephemerally in Discord and as ``{"error": message}`` on the API.
"""

from __future__ import annotations

from core.kernel import i18n


class GoLiveError(Exception):
    """Base for every error a user can cause or be told about.

    ``message`` is English; with ``params`` it is a template (``"There is no tip #%(tip)s."``)
    whose unfilled text is the stable message id the catalogs translate (core/kernel/i18n.py).
    """

    def __init__(self, message: str, **params: object) -> None:
        # Filled in exactly as an English reader's reply would be (numbers with separators).
        text = i18n.t(i18n.DEFAULT, message, **params) if params else message
        super().__init__(text)
        self.message = text
        self.msgid = message
        self.params = params


class InvalidInput(GoLiveError):
    """The request itself is wrong (bad field, out of range)."""


class NotAuthenticated(GoLiveError):
    """The caller must sign in first."""


class Forbidden(GoLiveError):
    """The caller is known but may not do this."""


class NotFound(GoLiveError):
    """The thing asked for does not exist."""


class Conflict(GoLiveError):
    """The request clashes with the current state (already live, already exists)."""


class LiveKitUnavailable(GoLiveError):
    """LiveKit could not be reached or refused the call; nothing was changed.

    ``code`` is LiveKit's own error code when it answered with a refusal ("not_found",
    "unauthenticated", "permission_denied", "failed_precondition"…), and None when it could not
    be reached or did not answer in time. Callers branch on it, never on transport exceptions.
    """

    NOT_FOUND = "not_found"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    FAILED_PRECONDITION = "failed_precondition"

    def __init__(self, message: str, code: str | None = None, **params: object) -> None:
        super().__init__(message, **params)
        self.code = code

    @property
    def refused(self) -> bool:
        """LiveKit answered and said no (as opposed to not answering at all)."""
        return self.code is not None

    @property
    def bad_credentials(self) -> bool:
        """LiveKit refused golive's API key or secret (or the grants they carry)."""
        return self.code in (self.UNAUTHENTICATED, self.PERMISSION_DENIED)


class StorageUnavailable(GoLiveError):
    """The database can't take a write right now (its write lock is held elsewhere, or the disk
    is full or failing); nothing was written. It passes by itself: ``retry_after`` is a fair
    guess, in seconds, of when to try again."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PaymentRefused(Conflict):
    """No money moved: not enough credits, a tip to yourself, a limit, a payment not set up."""


class RateLimited(GoLiveError):
    """Too much, too fast (chat flood, slow mode): try again later."""


class TooLarge(InvalidInput):
    """The thing sent is bigger than allowed (a chat message over the length limit)."""


class ConfigError(Exception):
    """A configuration value is missing or wrong. ``key`` names it for the operator."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem

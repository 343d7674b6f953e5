"""The notes on a member's wallet lines: written once, in English, and read in any language.

A note is part of the record (the ledger never changes a posted line), so it is stored as
English text. Each note is written from one of the templates here, and read back by matching
that template, so `/wallet history` shows "Trinkgeld an Alice" to a German member, for lines
posted before a translation existed too. A note no template matches (a moderator's free text)
is shown as it was written.
"""

from __future__ import annotations

import re
from functools import cache

from core.kernel.i18n import N_, Phrase

TIP_TO = N_("Tip to %(name)s")
TIP_FROM = N_("Tip from %(name)s")
TIP_FROM_REFUNDED = N_("Tip from %(name)s refunded")
TIP_REFUNDED = N_("Tip #%(id)s refunded by a moderator")
GRANTED = N_("Granted: %(reason)s")
REVOKED = N_("Removed by a moderator: %(reason)s")
STREAMING_PASS = N_("Streaming pass (%(days)s days)")
GO_LIVE_FEE = N_("Fee to go live")
GO_LIVE_FEE_REFUNDED = N_("Fee to go live refunded (the stream didn't start)")
TOP_UP = N_("Top-up")
TOP_UP_STRIPE = N_("Top-up (Stripe)")
PAYOUT_REQUESTED = N_("Payout requested")
PAYOUT_RETURNED = N_("Payout request returned")

TEMPLATES = (
    TIP_TO,
    TIP_FROM,
    TIP_FROM_REFUNDED,
    TIP_REFUNDED,
    GRANTED,
    REVOKED,
    STREAMING_PASS,
    GO_LIVE_FEE,
    GO_LIVE_FEE_REFUNDED,
    TOP_UP,
    TOP_UP_STRIPE,
    PAYOUT_REQUESTED,
    PAYOUT_RETURNED,
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def written(template: str, **params: object) -> str:
    """The note as stored: the English template filled in as written (no number formatting)."""
    return template % {name: str(value) for name, value in params.items()}


def read(note: str) -> Phrase:
    """A stored note as a phrase to say in the reader's language."""
    for template, pattern in _patterns():
        found = pattern.fullmatch(note)
        if found is not None:
            return Phrase(template, found.groupdict())
    return Phrase(note)  # said as written: a Phrase without params is never %-formatted


@cache
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    # The longest literal text first: "Tip from %(name)s refunded" before "Tip from %(name)s".
    ordered = sorted(TEMPLATES, key=lambda t: len(_PLACEHOLDER.sub("", t)), reverse=True)
    return [(t, re.compile(_regex(t), re.DOTALL)) for t in ordered]


def _regex(template: str) -> str:
    parts = _PLACEHOLDER.split(template)  # literal, name, literal, name, …
    return "".join(f"(?P<{p}>.+)" if i % 2 else re.escape(p) for i, p in enumerate(parts))

"""Languages: the gettext catalogs every front reads, and how a language tag becomes one of them.

The catalogs are `locales/<locale>/LC_MESSAGES/golive.po` beside this module, one per shipped
language; the English text is the message id, so English needs no lookup and a string missing
from a catalog falls back to English rather than to an id nobody can read. Placeholders are
Python's `%(name)s`, the same in Jinja2's i18n extension, so one catalog serves Discord replies,
domain errors and the pages. `make messages` extracts the strings and updates the catalogs.

The .po files are read directly (Babel's reader, once per process): no compiled .mo to forget.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from babel.core import Locale
from babel.dates import format_date, format_time
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.units import format_unit

from core.kernel.timefmt import duration_parts

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "golive"
DEFAULT = "en"
# What ships: English (the source text) plus complete translations.
SUPPORTED = ("en", "de", "pt_BR")
NAMES = {"en": "English", "de": "Deutsch", "pt_BR": "Português (Brasil)"}
# A translated locale without a region (pt) goes to the one variant shipped for it.
_BY_LANGUAGE = {"en": "en", "de": "de", "pt": "pt_BR"}
_TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([a-zA-Z0-9]{2,8}))?")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# The gettext context (msgctxt) of command, group and option names: they follow Discord's rules
# for names (lowercase, no spaces), so they are translated apart from the texts they look like.
NAME_CONTEXT = "command name"


def N_(msgid: str) -> str:
    """Marks a string for extraction where it is used later (`make messages` looks for N_)."""
    return msgid


class Credits(int):
    """An amount of credits in a message's params: "1 credit", "1.000 Credits", "2 créditos"."""

    def __str__(self) -> str:
        return credits_in(DEFAULT, self)


def credits_in(locale: str, amount: int) -> str:
    number = format_decimal(int(amount), locale=_babel_locale(locale))
    return ngettext(locale, "%(n)s credit", "%(n)s credits", abs(amount)) % {"n": number}


class Duration(float):
    """A duration in seconds in a message's params: "1h 12m", "1 Std. 12 Min.", "1 h 12 min"."""

    def __str__(self) -> str:
        return duration_in(DEFAULT, self)


def duration_in(locale: str, seconds: float) -> str:
    """The one or two largest units, abbreviated the locale's way (CLDR's units, via Babel).

    English keeps its compact "1h 12m"; German and Portuguese write CLDR's short units with a
    space ("1 Std. 12 Min.", "2 dias 3 h"), which their readers expect.
    """
    length: Literal["narrow", "short"] = "narrow" if locale == DEFAULT else "short"
    return " ".join(
        format_unit(count, f"duration-{unit}", length=length, locale=_babel_locale(locale))
        for count, unit in duration_parts(seconds)
    )


@dataclass(frozen=True)
class Phrase:
    """A sentence to be said later, in a language not known yet (a stream's health reasons are
    read by a German page and an English moderator alike): its message id and params."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.said_in(DEFAULT)

    def said_in(self, locale: str) -> str:
        return t(locale, self.msgid, **self.params)


def decimal_in(locale: str, number: float, pattern: str = "#,##0") -> str:
    """A number written the locale's way: 1,234.5 / 1.234,5 (`pattern` as in Babel: "#,##0.0")."""
    return format_decimal(number, format=pattern, locale=_babel_locale(locale))


def datetime_in(locale: str, moment: datetime) -> str:
    """A date and time in UTC the locale's way, for text that can't show the reader's own time:
    "Jan 1, 2026, 12:00 UTC", "01.01.2026, 12:00 UTC", "1 de jan. de 2026 12:00 UTC"."""
    where = _babel_locale(locale)
    return f"{format_date(moment, 'medium', locale=where)}, {format_time(moment, 'HH:mm', tzinfo=UTC, locale=where)} UTC"


def _babel_locale(locale: str) -> str:
    return "en_US" if locale == DEFAULT else locale


def normalize(tag: str | None) -> str | None:
    """A shipped locale for a language tag ("de-DE", "pt-BR", "en_GB"), or None if none fits."""
    if not tag:
        return None
    match = _TAG.match(tag.strip())
    if match is None:
        return None
    language, region = match.group(1).lower(), (match.group(2) or "").upper()
    exact = f"{language}_{region}" if region else language
    if exact in SUPPORTED:
        return exact
    return _BY_LANGUAGE.get(language)


def locale_or_default(tag: str | None, default: str = DEFAULT) -> str:
    return normalize(tag) or default


def negotiate(accept_language: str | None, default: str = DEFAULT) -> str:
    """The first shipped locale an Accept-Language header asks for, by its q weights."""
    if not accept_language:
        return default
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        locale = normalize(tag)
        if locale is not None and quality > 0:
            weighted.append((-quality, position, locale))
    return min(weighted)[2] if weighted else default


@cache
def catalog(locale: str) -> Catalog | None:
    """The catalog of a shipped, translated locale (None for English, the source language)."""
    if locale == DEFAULT or locale not in SUPPORTED:
        return None
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as file:
        return read_po(file, locale=locale, domain=DOMAIN)


def gettext(locale: str, msgid: str, context: str | None = None) -> str:
    """The translation of an English text, or the text itself when there is none."""
    found = catalog(locale)
    if found is None:
        return msgid
    message = found.get(msgid, context=context)
    if message is None or not message.string or message.fuzzy:
        return msgid
    return str(message.string)


def ngettext(locale: str, singular: str, plural: str, n: int) -> str:
    """Singular or plural by the locale's own rule (Brazilian Portuguese says "0 crédito")."""
    found = catalog(locale)
    message = found.get(singular) if found is not None else None
    if message is None or not isinstance(message.string, tuple) or not all(message.string):
        return singular if n == 1 else plural
    return str(message.string[plural_index(locale, n)])


def plural_index(locale: str, n: int) -> int:
    """Which msgstr[i] a number takes: gettext orders a language's CLDR plural categories
    (Brazilian Portuguese has three: one, many — "1.000.000 de créditos" — and other)."""
    rule = Locale.parse(locale).plural_form
    present = {*rule.tags, "other"}
    categories: list[str] = [
        c for c in ("zero", "one", "two", "few", "many", "other") if c in present
    ]
    return categories.index(rule(n))


def t(locale: str, msgid: str, **params: Any) -> str:
    """Translate and fill in: `t("de", "Tip #%(id)s is refunded.", id=3)`."""
    text = gettext(locale, msgid)
    if not params:
        return text
    shown = {name: _shown(locale, value) for name, value in params.items()}
    try:
        return text % shown
    except (KeyError, ValueError, TypeError):
        log.warning("catalog %s: placeholders of %r do not fit; using English", locale, msgid)
        return msgid % shown


def tn(locale: str, singular: str, plural: str, n: int, **params: Any) -> str:
    """`t` with a plural: `tn("de", "%(n)s viewer", "%(n)s viewers", 3)`; `n` fills %(n)s."""
    text = ngettext(locale, singular, plural, n)
    shown = {name: _shown(locale, value) for name, value in {"n": n, **params}.items()}
    try:
        return text % shown
    except (KeyError, ValueError, TypeError):
        log.warning("catalog %s: placeholders of %r do not fit; using English", locale, singular)
        return (singular if n == 1 else plural) % shown


def _shown(locale: str, value: Any) -> Any:
    """Numbers written the locale's way (10,000 / 10.000); credits with their word."""
    if isinstance(value, Credits):
        return credits_in(locale, value)
    if isinstance(value, Duration):
        return duration_in(locale, value)
    if isinstance(value, Phrase):
        return value.said_in(locale)
    if isinstance(value, int) and not isinstance(value, bool):
        return format_decimal(value, locale=_babel_locale(locale))
    return value


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))

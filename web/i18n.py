"""Pages in the viewer's language: a `lang` choice made on the page (remembered in a cookie), then
the browser's Accept-Language, then English. Templates translate with Jinja2's i18n extension
(`{{ _("…") }}`, `%(name)s` placeholders) from the same catalogs as the bot (core/kernel/i18n.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from babel.messages.extract import extract_from_dir

from core.kernel import i18n

STATIC_DIR = Path(__file__).resolve().parent / "static"
SCRIPT_KEYWORDS: dict[str, tuple[int, ...] | None] = {"gettext": None, "ngettext": (1, 2)}
LANG_COOKIE = "golive_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def chosen_locale(request: web.Request) -> str:
    """What the viewer reads: `?lang=` first, then their remembered choice, then the browser."""
    for choice in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if choice and choice in i18n.SUPPORTED:
            return choice
    return i18n.negotiate(request.headers.get("Accept-Language"))


def remember_choice(request: web.Request, response: web.StreamResponse) -> None:
    """A `?lang=` choice sticks: later pages read it from the cookie."""
    choice = request.query.get("lang")
    if choice in i18n.SUPPORTED and request.cookies.get(LANG_COOKIE) != choice:
        response.set_cookie(
            LANG_COOKIE,
            choice,
            max_age=LANG_COOKIE_MAX_AGE,
            samesite="Lax",
            secure=request.secure,
            httponly=True,
        )


@jinja2.pass_context
def _gettext(context: Any, msgid: str) -> str:
    return i18n.gettext(context.get("locale", i18n.DEFAULT), msgid)


@jinja2.pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(context.get("locale", i18n.DEFAULT), singular, plural, n)


def script_messages() -> list[str | tuple[str, str]]:
    """Every text the page scripts mark with `gettext("…")` or `ngettext("…", "…", n)`."""
    found = extract_from_dir(
        STATIC_DIR,
        method_map=[("**.js", "javascript")],
        keywords=SCRIPT_KEYWORDS,
        comment_tags=(),
        options_map={"**.js": {"parse_template_string": "false"}},
    )
    messages: list[str | tuple[str, str]] = []
    for _file, _line, message, _comments, _context in found:
        if isinstance(message, tuple) and message[0] and message[1]:
            messages.append((message[0], message[1]))
        elif isinstance(message, str) and message:
            messages.append(message)
    return messages


@jinja2.pass_context
def _number(context: Any, value: float, pattern: str = "#,##0") -> str:
    """A number written the page language's way: 1,234.5 / 1.234,5."""
    return i18n.decimal_in(context.get("locale", i18n.DEFAULT), value, pattern)


@cache
def script_texts(locale: str) -> dict[str, str | list[str]]:
    """What web/static/text.js reads: each script text's translation (plurals: every form).

    Empty for English, whose text is the message id. Built once per locale and process.
    """
    if i18n.catalog(locale) is None:
        return {}
    texts: dict[str, str | list[str]] = {}
    for message in script_messages():
        if isinstance(message, tuple):
            singular, plural = message
            texts[singular] = [i18n.ngettext(locale, singular, plural, n) for n in (1, 2)]
        else:
            texts[message] = i18n.gettext(locale, message)
    return texts


def install(env: jinja2.Environment) -> None:
    """Give templates `_`, `gettext` and `ngettext` in the rendering page's `locale`, `number`
    to write numbers its way, and `script_texts(locale)` for the page scripts."""
    for locale in i18n.SUPPORTED:  # read the scripts now, not while a page waits
        script_texts(locale)
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["languages"] = [(code, i18n.NAMES[code]) for code in i18n.SUPPORTED]
    env.globals["html_lang"] = lambda locale: locale.replace("_", "-")
    env.globals["script_texts"] = script_texts
    env.globals["number"] = _number

"""Pages in the viewer's language: a `lang` choice made on the page (remembered in a cookie), then
the browser's Accept-Language, then English. Templates translate with Jinja2's i18n extension
(`{{ _("…") }}`, `%(name)s` placeholders) from the same catalogs as the bot (core/kernel/i18n.py).
"""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from core.kernel import i18n

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


def install(env: jinja2.Environment) -> None:
    """Give templates `_`, `gettext` and `ngettext` in the rendering page's `locale`."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["languages"] = [(code, i18n.NAMES[code]) for code in i18n.SUPPORTED]
    env.globals["html_lang"] = lambda locale: locale.replace("_", "-")

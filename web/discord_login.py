"""Sign in with Discord: GET /auth/discord (off to Discord) and GET /auth/discord/callback (back).

The state travels twice: in Discord's redirect and in a short-lived cookie only this browser
holds, so a callback link made in someone else's browser (login CSRF: signing a victim into the
attacker's account) is refused. What Discord needs to finish (the PKCE verifier, where to go
back to) is in the database (core/accounts/discord_oauth.py), so any web process can answer.
Every refusal is a page in the viewer's language, never a 500.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from core.accounts import SIGN_IN_TTL, DiscordUnavailable
from core.kernel.errors import InvalidInput
from core.kernel.i18n import t
from web.i18n import chosen_locale
from web.keys import SERVICES, SESSION_COOKIE
from web.pages import message_page
from web.sign_in import DEFAULT_NEXT, DISCORD_START, local_path_or

routes = web.RouteTableDef()

STATE_COOKIE = "golive_discord_state"
STATE_MAX = 200  # what we hand out is 43 characters; anything longer is not ours


# No HEAD: a link checker's HEAD must not start (and store) a sign-in.
@routes.get(DISCORD_START, name="discord_sign_in", allow_head=False)
async def start(request: web.Request) -> web.StreamResponse:
    """`?next=/live/alice`: off to Discord's consent screen, and back to that page after."""
    services = request.app[SERVICES]
    locale = chosen_locale(request)
    if not services.discord_sign_in.enabled:
        return _not_set_up(request)
    next_path = request.query.get("next", DEFAULT_NEXT)
    try:
        authorization = await services.discord_sign_in.begin(next_path)
    except InvalidInput:
        return message_page(
            request,
            400,
            t(locale, "This sign-in link is not valid"),
            t(locale, "Signing in can only take you back to a page of this site."),
        )
    response = web.HTTPFound(authorization.url)
    response.set_cookie(
        STATE_COOKIE,
        authorization.state,
        max_age=int(SIGN_IN_TTL.total_seconds()),
        httponly=True,
        # Lax: sent on Discord's top-level redirect back to us, never on other sites' requests.
        samesite="Lax",
        secure=services.settings.web.cookies_secure,
        path=DISCORD_START,
    )
    response.headers["Cache-Control"] = "no-store"
    raise response


@routes.get(DISCORD_START + "/callback", name="discord_callback")
async def callback(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    if not services.discord_sign_in.enabled:
        return _not_set_up(request)
    query = request.query
    state = query.get("state", "")
    ours = _state_is_this_browsers(request, state)
    if "error" in query:
        # Discord sends the person back with ?error=access_denied when they press Cancel.
        next_path = await services.discord_sign_in.pending_next_path(state) if ours else None
        return _provider_said_no(request, query["error"], next_path or DEFAULT_NEXT)
    code = query.get("code", "")
    if not ours or not code or len(code) > STATE_MAX:
        return _cannot_finish(request)
    # Where to offer "try again" from, should Discord fail us after the state is spent.
    coming_from = await services.discord_sign_in.pending_next_path(state) or DEFAULT_NEXT
    try:
        session_token, next_path = await services.discord_sign_in.finish(state, code)
    except InvalidInput:
        return _cannot_finish(request)
    except DiscordUnavailable as error:
        return _discord_unavailable(request, error, coming_from)
    old_session = request.cookies.get(SESSION_COOKIE)
    if old_session:
        # Signing in again (perhaps as someone else) replaces the session this browser had.
        await services.auth.end_session(old_session)
    response = web.HTTPSeeOther(local_path_or(next_path))
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=int(services.auth.session_ttl.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=services.settings.web.cookies_secure,
        path="/",
    )
    response.del_cookie(STATE_COOKIE, path=DISCORD_START)
    response.headers["Cache-Control"] = "no-store"
    raise response


def _state_is_this_browsers(request: web.Request, state: str) -> bool:
    cookie = request.cookies.get(STATE_COOKIE, "")
    return 0 < len(state) <= STATE_MAX and cookie == state


def _try_again(next_path: str) -> str:
    return f"{DISCORD_START}?next={quote(local_path_or(next_path), safe='/')}"


def _not_set_up(request: web.Request) -> web.Response:
    locale = chosen_locale(request)
    return message_page(
        request,
        404,
        t(locale, "Sign in with Discord isn't set up here"),
        t(locale, "Sign in with Discord isn't set up on this site."),
    )


def _provider_said_no(request: web.Request, error: str, next_path: str) -> web.Response:
    locale = chosen_locale(request)
    if error == "access_denied":
        return message_page(
            request,
            401,
            t(locale, "You didn't sign in"),
            t(
                locale,
                "You chose not to let golive see your Discord account, so nothing changed. "
                "You can keep watching without signing in.",
            ),
            t(locale, "Try again"),
            _try_again(next_path),
        )
    return message_page(
        request,
        502,
        t(locale, "Discord couldn't sign you in"),
        t(locale, "Discord answered with an error, so nothing changed. Try again in a minute."),
        t(locale, "Try again"),
        _try_again(next_path),
    )


def _cannot_finish(request: web.Request) -> web.Response:
    locale = chosen_locale(request)
    return message_page(
        request,
        400,
        t(locale, "This sign-in can't be finished"),
        t(
            locale,
            "It has expired, was already used, or was started in another browser. "
            "Start again from the page you were on.",
        ),
        t(locale, "Sign in with Discord"),
        _try_again(DEFAULT_NEXT),
    )


def _discord_unavailable(
    request: web.Request, error: DiscordUnavailable, next_path: str
) -> web.Response:
    locale = chosen_locale(request)
    return message_page(
        request,
        502,
        t(locale, "Discord can't be reached"),
        t(locale, error.msgid, **error.params),
        t(locale, "Try again"),
        _try_again(next_path),
    )

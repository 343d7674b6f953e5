"""HTML pages: the live grid, a stream's watch page, the owner's studio, and sign-in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from core.kernel.errors import NotAuthenticated
from core.kernel.i18n import N_, duration_in, t
from core.livekit import AUDIENCE_PREFIXES, BROADCASTER_PREFIX
from core.streams import Stream
from web import search
from web.assets import compress_page
from web.i18n import chosen_locale, remember_choice
from web.keys import SERVICES, SESSION_COOKIE, identity_of
from web.sign_in import sign_in_href
from web.thumbnails import thumbnail_path

routes = web.RouteTableDef()

LINK_NOT_VALID = N_("Ask the bot for a new one: type /stream studio in Discord.")


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    # Pages tell the broadcaster's LiveKit identity from viewers' by this prefix (base.html).
    locale = chosen_locale(request)
    context = {
        "identity": identity_of(request),
        "broadcaster_prefix": BROADCASTER_PREFIX,
        "locale": locale,
        # The header's "Sign in with Discord" (None when it isn't set up); it comes back here.
        "sign_in_href": sign_in_href(request),
        **context,
    }
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    remember_choice(request, response)
    # Caches must keep each language apart when the page came from Accept-Language.
    response.headers.add("Vary", "Accept-Language")
    response.headers.add("Vary", "Cookie")
    return compress_page(request, response)


def message_page(
    request: web.Request,
    status: int,
    heading: str,
    message: str,
    action_text: str | None = None,
    action_url: str | None = None,
    params: Mapping[str, object] | None = None,
) -> web.Response:
    """A page that says one thing: the heading, message (filled in with `params`) and action
    are message ids, shown in the viewer's language."""
    locale = chosen_locale(request)
    return render(
        request,
        "message.html",
        {
            "heading": t(locale, heading),
            "message": t(locale, message, **(params or {})),
            "action_text": t(locale, action_text) if action_text else None,
            "action_url": action_url,
        },
        status=status,
    )


@routes.get("/", name="home")
async def home(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.app.router["live_index"].url_for())


@routes.get("/live", name="live_index")
async def live_index(request: web.Request) -> web.Response:
    # The grid and its two searches (by name, near a city) are discovery's: see web/search.py.
    return render(request, "live_index.html", await search.live_grid(request))


@routes.get("/live/{slug}", name="watch")
async def watch(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    identity = identity_of(request)
    locale = chosen_locale(request)
    sessions = [
        {
            "started_at": session.started_at,
            "duration_text": duration_in(locale, session.duration_seconds or 0),
        }
        for session in await services.streams.recent_sessions(stream.id)
    ]
    # Recorded past streams, on the offline page: each opens its VOD page (web/vods.py).
    vods = [
        {
            "started_at": vod.started_at,
            "duration_text": duration_in(locale, vod.duration_seconds or 0),
            "url": f"/live/{stream.slug}/vods/{vod.id}",
        }
        for vod in (await services.recording.list_vods(stream.id) if not stream.active else [])
    ]
    snapshot = services.thumbnails.snapshot(stream)
    return render(
        request,
        "watch.html",
        {
            "stream": stream,
            # "starting" (room open, no video yet: the page says so) or "live" (on air).
            "stream_state": stream.state,
            # For link previews, which need an absolute address; None: no snapshot now.
            "og_image": f"{services.settings.web.public_url}{thumbnail_path(stream.slug)}"
            if snapshot
            else None,
            "sessions": sessions,
            "vods": vods,
            "is_owner": identity is not None and identity.user_id == stream.owner_id,
            "page_data": {
                **_page_data(request, stream),
                "state": stream.state,
                "streamUrl": f"/api/live/{stream.slug}",
                "healthUrl": f"/api/live/{stream.slug}/health",
                **(await _audience_data(request, stream) if stream.active else {}),
            },
        },
    )


async def _audience_data(request: web.Request, stream: Stream) -> dict[str, Any]:
    """What the player shows before it joins the room: the count golive knows now (webhooks
    and the reconciler keep it), whether the streamer's video was flowing (if not, the player
    says the stream is starting), and which LiveKit identities count as watching."""
    services = request.app[SERVICES]
    session = await services.streams.current_session(stream.id)
    audience = await services.live.audience(session.id) if session else None
    return {
        "viewers": audience.current_viewers if audience else 0,
        "broadcasterVideo": audience.broadcaster_video if audience else False,
        "audiencePrefixes": list(AUDIENCE_PREFIXES),
    }


@routes.get("/live/{slug}/studio", name="studio")
async def studio(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    identity = identity_of(request)
    if identity is None:
        return message_page(
            request,
            401,
            N_("Sign in to open your studio"),
            N_(
                "Type /stream studio in Discord: the bot sends you a private link that opens "
                "this page."
            ),
        )
    if identity.user_id != stream.owner_id:
        return message_page(
            request,
            403,
            N_("This studio isn't yours"),
            N_("Only %(name)s can broadcast on this stream page."),
            N_("Watch the stream"),
            f"/live/{stream.slug}",
            {"name": stream.owner_name},
        )
    session = await services.streams.current_session(stream.id) if stream.active else None
    return render(
        request,
        "studio.html",
        {
            "stream": stream,
            "page_data": {
                **_page_data(request, stream),
                "toggleUrl": str(request.app.router["api_toggle_active"].url_for()),
                "watchUrl": f"/live/{stream.slug}",
                "endUrl": f"/api/live/{stream.slug}/end",
                "sessionsUrl": f"/api/live/{stream.slug}/sessions",
                "healthUrl": f"/api/live/{stream.slug}/health",
                "sessionId": session.id if session else None,
                # Measured by the server's clock: the browser's may be off by minutes.
                "liveSeconds": (
                    int((services.clock.now() - session.started_at).total_seconds())
                    if session
                    else None
                ),
                # Who counts as watching; golive's own participants (egress, ingress) don't.
                "audiencePrefixes": list(AUDIENCE_PREFIXES),
            },
        },
    )


# What secrets.token_urlsafe hands out. Anything else (`..%2f..%2fapi…`) must never become a form
# that posts somewhere else with the visitor's cookies.
_LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


@routes.get("/login/{token}", name="login")
async def login_form(request: web.Request) -> web.Response:
    # Spending the token on GET would let link-preview bots burn it: the page posts it instead.
    token = request.match_info["token"]
    if not _LOGIN_TOKEN.fullmatch(token):
        return message_page(request, 404, N_("This sign-in link is not valid"), LINK_NOT_VALID)
    action = request.app.router["login_submit"].url_for(token=token)
    response = render(request, "login.html", {"action": str(action)})
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/login/{token}", name="login_submit")
async def login_submit(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        session_token, next_path = await services.auth.redeem_login_link(
            request.match_info["token"]
        )
    except NotAuthenticated as error:
        return message_page(
            request, 410, N_("This link can't be used again"), error.msgid, params=error.params
        )
    response = web.HTTPSeeOther(next_path)
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=int(services.auth.session_ttl.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=services.settings.web.cookies_secure,
        path="/",
    )
    raise response


@routes.post("/logout", name="logout")
async def logout(request: web.Request) -> web.Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await request.app[SERVICES].auth.end_session(token)
    response = web.HTTPSeeOther("/live")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def _page_data(request: web.Request, stream: Stream) -> dict[str, Any]:
    return {
        "slug": stream.slug,
        "title": stream.title,
        "active": stream.active,
        "roomName": stream.room_name,
        "wsUrl": request.app[SERVICES].settings.livekit.public_url,
        "tokenUrl": str(request.app.router["api_token"].url_for()),
        "stageUrl": f"/api/live/{stream.slug}/stage",
    }

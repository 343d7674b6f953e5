"""create_app(): the aiohttp application, its middlewares and its routes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from core.kernel.errors import (
    Conflict,
    Forbidden,
    GoLiveError,
    InvalidInput,
    LiveKitUnavailable,
    NotAuthenticated,
    NotFound,
    RateLimited,
    StorageUnavailable,
    TooLarge,
)
from core.kernel.i18n import N_, t
from core.services import Services
from web import (
    api,
    assets,
    chat,
    discord_login,
    health,
    i18n,
    ops,
    pages,
    search,
    stage,
    stripe_webhook,
    studio,
    thumbnails,
    tips,
    topups,
    vods,
    webhooks,
)
from web.body import BODY, BODY_SECONDS, BodyRefused, read_body
from web.i18n import chosen_locale
from web.keys import CSP, IDENTITY, SERVICES, SESSION_COOKIE
from web.metrics import METRICS, Metrics
from web.metrics import routes as metrics_routes
from web.plain import plain_text

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS: dict[type[GoLiveError], int] = {
    TooLarge: 413,  # before InvalidInput, its base class
    InvalidInput: 400,
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    LiveKitUnavailable: 503,
    StorageUnavailable: 503,
    RateLimited: 429,
}


def status_for(error: GoLiveError) -> int:
    for kind, status in _STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


# Machines call these: every refusal is JSON `{"error": …}`, never an HTML page.
_JSON_PREFIXES = ("/api/", "/livekit/", "/stripe/")

# A client has this long to send a request's headers (the server's keep-alive timeout, which
# aiohttp also applies to a request still arriving) and BODY_SECONDS for its body.
HEADER_SECONDS = 15.0
DEFAULT_BODY_SECONDS = 30.0


class _ClientMistakes(logging.Filter):
    """A request the HTTP parser refuses (line too long, bad header) is the client's mistake.

    aiohttp logs each one as an ERROR with a traceback; one line at INFO says what happened
    without paging anyone. Anything else the server logs stays as it is.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= error.code < 500:
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = (
                "refused a malformed request from %s: %s",
                (peer, _one_line(error.message)),
            )
            record.exc_info, record.exc_text = None, None
        return True


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


server_log = logging.getLogger("web.server")
server_log.addFilter(_ClientMistakes())


def server_options(header_seconds: float = HEADER_SECONDS) -> dict[str, Any]:
    """Arguments for the AppRunner (and the tests' TestServer), so both run the same server.

    create_app's body middleware relies on them: with aiohttp's own decompression left on, a
    compressed body would be decoded twice.

    Decompression is the body middleware's (see web/body.py): the HTTP parser would answer an
    unknown Content-Encoding itself, as plain text with an ERROR traceback in the log. No
    lingering: the middleware reads every body it accepts, so what is left unread belongs to a
    refused request (too slow, too large, badly chunked) and is not worth waiting for.
    """
    return {
        "keepalive_timeout": header_seconds,
        "auto_decompress": False,
        "lingering_time": 0,
        "logger": server_log,
    }


def _is_api(request: web.Request) -> bool:
    return request.path.startswith(_JSON_PREFIXES)


def _error(request: web.Request, status: int, message: str, **params: object) -> web.Response:
    """`message` (a message id, filled in with `params`) in the language the request reads."""
    if _is_api(request):
        # Domain errors are written for Discord: no Markdown in JSON (message.html says the same).
        text = plain_text(t(chosen_locale(request), message, **params))
        return web.json_response({"error": text}, status=status)
    heading = {404: N_("Not found"), 401: N_("Please sign in"), 403: N_("Not allowed")}.get(
        status, N_("Something went wrong")
    )
    return pages.message_page(
        request, status, heading, message, N_("See who is live"), "/live", params
    )


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One error path: domain errors and HTTP errors become JSON (API) or a page; never a traceback."""
    try:
        return await handler(request)
    except StorageUnavailable as error:
        # Nothing was written: the client may simply send the same request again.
        response = _error(request, 503, error.message)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except GoLiveError as error:
        return _error(request, status_for(error), error.msgid, **error.params)
    except web.HTTPRequestEntityTooLarge:
        return _error(request, 413, "The request body is too large.")
    except web.HTTPException as error:
        if error.status >= 400 and (_is_api(request) or error.status in (404, 405)):
            reason = {
                404: N_("There is nothing at this address."),
                405: N_("This method is not allowed here."),
            }
            return _error(request, error.status, reason.get(error.status, error.reason))
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error(request, 500, N_("Something went wrong on our side. Please try again."))


@web.middleware
async def body_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read (and decode) every body once, in bounded time, before any handler looks at it."""
    try:
        request[BODY] = await read_body(
            request,
            limit=request.app[SERVICES].settings.web.max_body_bytes,
            seconds=request.app[BODY_SECONDS],
        )
    except BodyRefused as refused:
        response = _error(request, refused.status, refused.message)
        # What is left of the body is not worth reading (aiohttp would otherwise linger on it).
        response.force_close()
        return response
    return await handler(request)


@web.middleware
async def identity_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    session_token = request.cookies.get(SESSION_COOKIE)
    # Most token requests at a go-live come from guests: no cookie, nothing to look up.
    request[IDENTITY] = (
        await request.app[SERVICES].auth.identity_for_session(session_token)
        if session_token
        else None
    )
    return await handler(request)


@web.middleware
async def same_origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse state-changing requests sent by other sites (SameSite cookies are the first line)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("Origin")
        if origin and origin not in _own_origins(request):
            return _error(request, 403, "Requests from other sites are not accepted.")
    return await handler(request)


def _own_origins(request: web.Request) -> set[str]:
    return {
        _origin(request.app[SERVICES].settings.web.public_url),
        f"{request.scheme}://{request.host}",
    }


@functools.lru_cache(maxsize=8)
def _origin(url: str) -> str:
    # Every browser POST carries an Origin: parse the (fixed) public URL once, not per request.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        # Redirects are raised; they get the headers too.
        _add_security_headers(request, error)
        raise
    _add_security_headers(request, response)
    return response


def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", request.app[CSP])
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Login links carry a token in the path: never send it to other sites. (`no-referrer` would also
    # make Chromium send `Origin: null` on same-site POSTs, which the origin check rightly refuses.)
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if _is_api(request):
        headers.setdefault("Cache-Control", "no-store")


def content_security_policy(livekit_public_url: str) -> str:
    parts = urlsplit(livekit_public_url)
    secure = parts.scheme == "wss"
    ws_origin = f"{'wss' if secure else 'ws'}://{parts.netloc}"
    http_origin = f"{'https' if secure else 'http'}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            f"connect-src 'self' {ws_origin} {http_origin}",
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


async def _load_places(app: web.Application) -> None:
    # Before the first request, not during one: parsing the city list holds the GIL for most
    # of a second, which would stall every request in flight.
    await app[SERVICES].places.load()


def create_app(
    services: Services,
    readiness: ops.Readiness | None = None,
    metrics: Metrics | None = None,
) -> web.Application:
    """The app; `readiness` is the parts /readyz asks (a process with a bot adds Discord's);
    with `metrics` (metrics.enabled) it serves GET /metrics."""
    app = web.Application(
        client_max_size=services.settings.web.max_body_bytes,
        middlewares=[
            ops.request_context_middleware,
            security_headers_middleware,
            errors_middleware,
            body_middleware,
            same_origin_middleware,
            identity_middleware,
        ],
    )
    app[SERVICES] = services
    app[CSP] = content_security_policy(services.settings.livekit.public_url)
    app[BODY_SECONDS] = DEFAULT_BODY_SECONDS
    app.on_startup.append(_load_places)
    app[ops.READINESS] = readiness or ops.Readiness(services)
    templates = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    i18n.install(templates)
    templates.filters["plain"] = plain_text
    app.add_routes(api.routes)
    app.add_routes(health.routes)
    app.add_routes(ops.routes)
    if metrics is not None:
        app[METRICS] = metrics
        app.add_routes(metrics_routes)
    app.add_routes(chat.routes)
    app.add_routes(stage.routes)
    app.add_routes(studio.routes)
    app.add_routes(pages.routes)
    app.add_routes(vods.routes)
    app.add_routes(discord_login.routes)
    app.add_routes(search.routes)
    app.add_routes(webhooks.routes)
    app.add_routes(tips.routes)
    app.add_routes(topups.routes)
    app.add_routes(stripe_webhook.routes)
    app.add_routes(thumbnails.routes)
    assets.setup(app, HERE / "static")
    return app

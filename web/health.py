"""GET /api/live/<slug>/health: the streamer's video as LiveKit reports it.

Public, like the watch page that shows it. Answers come from a 10-second cache per room
(core/live/health.py), so a crowd of polling pages costs LiveKit one call per room. The summary
and the reasons come in the page's language (the request's, web/i18n.py).
"""

from __future__ import annotations

from aiohttp import web

from core.live import describe
from web.i18n import chosen_locale
from web.keys import SERVICES

routes = web.RouteTableDef()


@routes.get("/api/live/{slug}/health", name="api_stream_health")
async def stream_health(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    health = await services.health.health(stream)
    locale = chosen_locale(request)
    return web.json_response(
        {
            "status": health.status,
            "poor": health.poor,
            "source": health.source,
            "width": health.width,
            "height": health.height,
            "fps": health.fps,
            "bitrate": health.bitrate,
            "bitrateMeasured": health.bitrate_measured,
            "summary": describe(health, locale),
            "reasons": [reason.said_in(locale) for reason in health.reasons],
        }
    )

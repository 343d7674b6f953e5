"""GET /live/<slug>/thumbnail.jpg: the newest snapshot of a stream on air (core/live/thumbnails.py).

A stable address, for link previews (`og:image`) and the /live cards; the cards add `?v=` with
the snapshot's version so a new snapshot is fetched as soon as the grid learns of it. No
snapshot (not on air, thumbnails off, none written yet) is a 404, and the pages show their
gradient instead.
"""

from __future__ import annotations

from aiohttp import web

from core.live import Snapshot
from core.streams import Stream
from web.keys import SERVICES

routes = web.RouteTableDef()

NO_THUMBNAIL = "This stream has no thumbnail right now."


def thumbnail_path(slug: str) -> str:
    return f"/live/{slug}/thumbnail.jpg"


def thumbnail_url(stream: Stream, snapshot: Snapshot | None) -> str | None:
    """Where a page loads the snapshot from; the version changes with every new snapshot."""
    return None if snapshot is None else f"{thumbnail_path(stream.slug)}?v={snapshot.version}"


@routes.get("/live/{slug}/thumbnail.jpg", name="thumbnail")
async def thumbnail(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    snapshot = services.thumbnails.snapshot(stream)
    if snapshot is None:
        # Soon there may be one: nothing may keep this answer.
        return web.Response(status=404, text=NO_THUMBNAIL, headers={"Cache-Control": "no-store"})
    # A new snapshot every interval: caches may keep one that long, then must ask again, and
    # asking is cheap (ETag and Last-Modified answer 304 while the file is unchanged).
    seconds = int(services.settings.thumbnails.interval.total_seconds())
    return web.FileResponse(
        snapshot.path,
        headers={
            "Content-Type": "image/jpeg",
            "Cache-Control": f"public, max-age={seconds}, must-revalidate",
        },
    )

"""Starting and stopping the aiohttp sidecar inside the bot's event loop (or alone)."""

from __future__ import annotations

import logging

from aiohttp import web

from core.services import Services
from web.app import create_app, server_options

log = logging.getLogger(__name__)


async def start_web(services: Services) -> web.AppRunner:
    runner = web.AppRunner(create_app(services), access_log=None, **server_options())
    await runner.setup()
    site = web.TCPSite(runner, services.settings.web.host, services.settings.web.port)
    await site.start()
    log.info(
        "web sidecar listening on %s:%s (public address %s)",
        services.settings.web.host,
        services.settings.web.port,
        services.settings.web.public_url,
    )
    return runner

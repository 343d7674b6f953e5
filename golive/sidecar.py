"""Starting and stopping the aiohttp sidecar inside the bot's event loop (or alone)."""

from __future__ import annotations

import logging

from aiohttp import web

from core.services import Services
from web.app import create_app, server_options
from web.metrics import Metrics
from web.ops import Readiness

log = logging.getLogger(__name__)


async def start_web(
    services: Services, readiness: Readiness | None = None, metrics: Metrics | None = None
) -> web.AppRunner:
    # On cleanup() the runner waits this long for requests in flight (golive/runtime.py).
    grace = services.settings.web.shutdown_grace.total_seconds()
    runner = web.AppRunner(
        create_app(services, readiness, metrics),
        access_log=None,
        shutdown_timeout=grace,
        **server_options(),
    )
    await runner.setup()
    site = web.TCPSite(runner, services.settings.web.host, services.settings.web.port)
    await site.start()
    # The bound address, not the configured one: with port 0 the system picks it.
    host, port = runner.addresses[0][:2]
    log.info(
        "web sidecar listening on %s:%s (public address %s)",
        host,
        port,
        services.settings.web.public_url,
    )
    return runner

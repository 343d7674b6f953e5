"""Starting and stopping the aiohttp sidecar inside the bot's event loop (or alone)."""

from __future__ import annotations

import errno
import logging

from aiohttp import web

from core.services import Services
from web.app import create_app, server_options
from web.metrics import Metrics
from web.ops import Readiness

log = logging.getLogger(__name__)


class CannotStart(Exception):
    """golive can't start as configured; the message says what is wrong and what to do."""


async def start_web(
    services: Services, readiness: Readiness | None = None, metrics: Metrics | None = None
) -> web.AppRunner:
    """Start the sidecar. Raises CannotStart when its address can't be listened on."""
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
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise CannotStart(
            _cannot_listen(services.settings.web.host, services.settings.web.port, error)
        ) from None
    # The bound address, not the configured one: with port 0 the system picks it.
    host, port = runner.addresses[0][:2]
    log.info(
        "web sidecar listening on %s:%s (public address %s)",
        host,
        port,
        services.settings.web.public_url,
    )
    return runner


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another golive, or another program): "
            "stop it, or set GOLIVE_WEB_PORT (web.port in config.toml) to a free port"
        )
    return (
        f"can't listen on {host}:{port} ({error.strerror or error}): "
        "check GOLIVE_WEB_HOST and GOLIVE_WEB_PORT (web.host, web.port in config.toml)"
    )

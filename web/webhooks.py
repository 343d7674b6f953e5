"""POST /livekit/webhook: LiveKit's room events, verified, each applied once.

LiveKit signs every webhook with the API secret: the raw JWT in ``Authorization`` carries
base64(sha256(body)). livekit-api's ``WebhookReceiver`` checks both; anything it rejects is a 401
(JSON, as the API's errors), so a forged or altered event never touches the database.
"""

from __future__ import annotations

import logging

from aiohttp import web
from google.protobuf.json_format import ParseError
from livekit import api

from web.body import body_bytes
from web.keys import SERVICES

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@routes.post("/livekit/webhook", name="livekit_webhook")
async def livekit_webhook(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    token = request.headers.get("Authorization", "")
    if not token:
        return _refuse(401, "The webhook is not signed.")
    try:
        # LiveKit sends JSON, which is UTF-8 whatever charset the header claims.
        body = body_bytes(request).decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(400, "The webhook body is not UTF-8 JSON.")
    receiver = api.WebhookReceiver(
        api.TokenVerifier(services.settings.livekit.api_key, services.settings.livekit.api_secret)
    )
    try:
        event = receiver.receive(body, token.removeprefix("Bearer "))
    except ParseError:
        return _refuse(400, "The webhook body is not a LiveKit event.")
    except Exception as error:
        # PyJWT errors for the token, and a bare Exception from livekit-api for a body that
        # does not match the signed hash: either way the sender is not our LiveKit.
        log.warning("refused a webhook with a bad signature: %s", type(error).__name__)
        return _refuse(401, "The webhook signature is not valid.")
    applied = await services.webhooks.receive(event)
    return web.json_response({"ok": True, "duplicate": not applied})

"""POST /stripe/webhook: Stripe tells us a Checkout payment went through.

Answers 400 to anything not signed by Stripe with our endpoint secret, and 200 to every signed
event, whether it credited a wallet, was a replay, or is a type we don't use: Stripe retries
non-2xx answers for days, and a signed event we chose to ignore must not come back.
"""

from __future__ import annotations

import logging

from aiohttp import web

from core.money import BadSignature
from web.keys import SERVICES

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.post("/stripe/webhook", name="stripe_webhook")
async def stripe_webhook(request: web.Request) -> web.Response:
    payload = await request.read()
    try:
        result = await request.app[SERVICES].topups.handle_webhook(
            payload, request.headers.get("Stripe-Signature")
        )
    except BadSignature as error:
        log.warning("refused a Stripe webhook: %s", error)
        return web.json_response({"error": "The signature does not verify."}, status=400)
    return web.json_response({"received": True, "result": result})

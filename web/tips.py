"""Tipping from the watch page: POST /api/live/<slug>/tip for signed-in viewers."""

from __future__ import annotations

from aiohttp import web

from core.kernel.errors import InvalidInput, NotAuthenticated
from web.body import json_object, text_field
from web.keys import SERVICES, identity_of

routes = web.RouteTableDef()

KEY_MAX = 100


@routes.post("/api/live/{slug}/tip", name="api_tip")
async def tip(request: web.Request) -> web.Response:
    """Body: {"amount": 50, "message": "...", "requestId": "<random per tip attempt>"}.

    `requestId` makes a retried request (a double click, a flaky network) tip once; it is
    scoped to the signed-in member, so nobody can replay someone else's.
    """
    services = request.app[SERVICES]
    identity = identity_of(request)
    if identity is None:
        raise NotAuthenticated("Sign in to tip: use the Watch button in Discord.")
    body = await json_object(request)
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput("'amount' must be a whole number of credits.")
    message = text_field(body, "message", required=False)
    request_id = text_field(body, "requestId")
    if not 8 <= len(request_id) <= KEY_MAX:
        raise InvalidInput("'requestId' must be 8 to %(max)s characters.", max=str(KEY_MAX))
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    outcome = await services.tips.tip_stream(
        identity, stream.id, amount, message, f"web:{identity.user_id}:{request_id}"
    )
    return web.json_response(
        {
            "tip": {
                "id": outcome.tip.id,
                "amount": outcome.tip.amount,
                "message": outcome.tip.message,
                "streamer": outcome.stream.owner_name,
            },
            "balance": outcome.donor_balance,
            "replayed": outcome.replayed,
        },
        status=200 if outcome.replayed else 201,
    )

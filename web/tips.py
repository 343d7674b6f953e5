"""Tipping from the watch page: what the tip form offers (GET /api/live/<slug>/tip) and the tip
itself (POST), for signed-in viewers."""

from __future__ import annotations

from aiohttp import web

from core.kernel.errors import InvalidInput, NotAuthenticated
from web.body import json_object, text_field
from web.keys import SERVICES, identity_of

routes = web.RouteTableDef()

KEY_MAX = 100


TOPUP_FACTORS = (1, 5, 10)  # "Get credits" offers the smallest top-up and 5x and 10x it


@routes.get("/api/live/{slug}/tip", name="api_tip_form")
async def tip_form(request: web.Request) -> web.Response:
    """What the tip form shows, from the server's own settings (so the form and the checks never
    disagree): the limits, the one-tap amounts, the viewer's balance, and whether and how much
    "Get credits" can buy. Guests get the limits; balance is null."""
    services = request.app[SERVICES]
    stream = await services.streams.get_by_slug(request.match_info["slug"])
    identity = identity_of(request)
    policy, topups = services.tips.policy, services.topups
    wallet = topups.wallet
    topup_amounts = sorted({min(wallet.topup_max, wallet.topup_min * f) for f in TOPUP_FACTORS})
    return web.json_response(
        {
            "streamer": stream.owner_name,
            "min": policy.minimum,
            "max": policy.maximum,
            "messageMax": policy.message_max,
            "presets": list(policy.form_presets()),
            "balance": None
            if identity is None
            else await services.ledger.balance(identity.user_id),
            "topup": {
                "enabled": topups.enabled,
                "amounts": topup_amounts if topups.enabled else [],
                "centsPerCredit": topups.config.cents_per_credit,
                "currency": topups.config.currency,
            },
        }
    )


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

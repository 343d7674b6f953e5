"""Buying credits from the page: "Get credits" starts Stripe Checkout (POST /api/topups), and the
pages Stripe sends the person back to say what became of it (/topup/done, /topup/cancelled).

Checkout is TopupService's, the same one `/wallet topup` uses; credits land only when Stripe's
signed webhook says "paid" (web/stripe_webhook.py). The return page therefore asks
GET /api/topups/<session id> until they have, showing "Confirming your payment…" meanwhile.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from core.accounts import is_local_path
from core.kernel import i18n
from core.kernel.errors import InvalidInput, NotAuthenticated, NotFound
from core.kernel.i18n import t
from core.money import CANCEL_PATH, RETURN_PATH, CheckoutStatus
from web.body import json_object, text_field
from web.i18n import chosen_locale
from web.keys import SERVICES, identity_of
from web.pages import message_page, render
from web.sign_in import DEFAULT_NEXT, local_path_or

routes = web.RouteTableDef()

# Stripe's Checkout Session ids (cs_test_…, cs_live_…); anything else never names one of ours.
SESSION_ID = re.compile(r"cs_[A-Za-z0-9_]{1,250}")


@routes.post("/api/topups", name="api_topup")
async def start_topup(request: web.Request) -> web.Response:
    """Body: {"credits": 500, "returnTo": "/live/alice"}. Answers 201 {"url": <Stripe Checkout>}.

    Signed-in members only; the same-origin middleware already refused other sites' posts."""
    services = request.app[SERVICES]
    identity = identity_of(request)
    if identity is None:
        raise NotAuthenticated("Sign in to buy credits.")
    body = await json_object(request)
    credits = body.get("credits")
    if isinstance(credits, bool) or not isinstance(credits, int):
        raise InvalidInput("'credits' must be a whole number of credits.")
    return_to = text_field(body, "returnTo", required=False, default=DEFAULT_NEXT)
    if not is_local_path(return_to):
        raise InvalidInput("'returnTo' must be a page of this site.")
    checkout = await services.topups.start_checkout(identity.user_id, credits, return_to)
    return web.json_response(
        {
            "url": checkout.url,
            "sessionId": checkout.session_id,
            "credits": checkout.credits,
            "price": checkout.price_text,
        },
        status=201,
    )


@routes.get("/api/topups/{session_id}", name="api_topup_status")
async def topup_status(request: web.Request) -> web.Response:
    """{"status": "pending" | "credited", "credits": n, "balance": n | null}.

    The session id is what Stripe put in the return address; it tells only whether the credits
    landed and how many. Someone else's signed-in browser gets a 404; the balance is shown to
    the member who paid only."""
    services = request.app[SERVICES]
    status = await _checkout_of(request, request.match_info["session_id"])
    identity = identity_of(request)
    balance = None
    if identity is not None and status.credited:
        balance = await services.ledger.balance(identity.user_id)
    return web.json_response(
        {
            "status": "credited" if status.credited else "pending",
            "credits": status.credits,
            "balance": balance,
        }
    )


@routes.get(RETURN_PATH, name="topup_done")
async def topup_done(request: web.Request) -> web.Response:
    """Where Stripe sends a member who paid: "Payment received" once the webhook credited it,
    else "Confirming your payment…" while topup.js asks again."""
    locale = chosen_locale(request)
    session_id = request.query.get("session_id", "")
    try:
        status = await _checkout_of(request, session_id)
    except (InvalidInput, NotFound):
        return message_page(
            request,
            404,
            t(locale, "We can't find this payment"),
            t(
                locale,
                "This address doesn't name a payment made here. If you paid, your credits "
                "arrive by themselves: check your balance with /wallet balance in Discord.",
            ),
        )
    identity = identity_of(request)
    balance = None
    if identity is not None and status.credited:
        balance = await request.app[SERVICES].ledger.balance(identity.user_id)
    return _return_page(
        request,
        "credited" if status.credited else "pending",
        {
            "credits_text": i18n.credits_in(locale, status.credits),
            "balance_text": None if balance is None else i18n.credits_in(locale, balance),
            "status_url": str(
                request.app.router["api_topup_status"].url_for(session_id=status.session_id)
            ),
        },
    )


@routes.get(CANCEL_PATH, name="topup_cancelled")
async def topup_cancelled(request: web.Request) -> web.Response:
    return _return_page(request, "cancelled", {})


async def _checkout_of(request: web.Request, session_id: str) -> CheckoutStatus:
    if not SESSION_ID.fullmatch(session_id):
        raise InvalidInput("That is not a payment's id.")
    status = await request.app[SERVICES].topups.checkout_status(session_id)
    identity = identity_of(request)
    if status is None or (identity is not None and identity.user_id != status.member_id):
        raise NotFound("There is no such payment.")
    return status


def _return_page(request: web.Request, state: str, context: dict[str, Any]) -> web.Response:
    next_path = local_path_or(request.query.get("next"))
    response = render(
        request,
        "topup_return.html",
        {"state": state, "next_path": next_path, "to_stream": next_path != DEFAULT_NEXT, **context},
    )
    response.headers["Cache-Control"] = "no-store"
    return response

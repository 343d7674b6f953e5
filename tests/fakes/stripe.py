"""A Stripe API double: the one call golive makes, POST /v1/checkout/sessions (form-encoded).

The real `stripe` package talks to it unchanged (StripeClient with base_addresses={"api": url}).
With `hosted = True` it also plays Checkout's own page, for browser tests: the session's URL is
on the double, and its "Pay" and "Cancel" send the browser to the session's success_url (with
{CHECKOUT_SESSION_ID} filled in, as Stripe does) or cancel_url. Paying there sends no webhook:
the test delivers it when it wants to, as Stripe may well be slower than the browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

SECRET_KEY = "sk_test_golive"


class FakeStripe:
    def __init__(self) -> None:
        self.created: list[dict[str, str]] = []
        self.fail = False  # answer the next calls with a 500
        self.fail_times = 0  # answer only this many next calls with a 500
        self.requests = 0  # create calls received, retries included
        self.url = ""
        self.hosted = False  # serve the Checkout page itself (see the module's docstring)
        # Stripe replays the first answer to a repeated Idempotency-Key (for 24 hours).
        self._answers: dict[str, dict[str, str]] = {}

    async def create_session(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            return web.json_response(
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}},
                status=401,
            )
        self.requests += 1
        if self.fail or self.fail_times:
            self.fail_times = max(0, self.fail_times - 1)
            return web.json_response(
                {"error": {"type": "api_error", "message": "down"}}, status=500
            )
        key = request.headers.get("Idempotency-Key")
        if key is not None and key in self._answers:
            return web.json_response(self._answers[key], headers={"Idempotent-Replayed": "true"})
        form = await request.post()
        self.created.append({key: str(value) for key, value in form.items()})
        session_id = f"cs_test_{len(self.created)}"
        checkout_base = f"{self.url}/c/pay" if self.hosted else "https://checkout.stripe.com/c/pay"
        answer = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"{checkout_base}/{session_id}",
            "payment_status": "unpaid",
        }
        if key is not None:
            self._answers[key] = answer
        return web.json_response(answer)

    def _session(self, request: web.Request) -> dict[str, str]:
        number = request.match_info["session_id"].removeprefix("cs_test_")
        if not number.isdigit() or not 1 <= int(number) <= len(self.created):
            raise web.HTTPNotFound(text="No such checkout session")
        return self.created[int(number) - 1]

    async def checkout_page(self, request: web.Request) -> web.Response:
        session = self._session(request)
        here = request.path
        body = (
            "<!doctype html><title>Checkout (test double)</title>"
            f"<h1>Pay for {session.get('line_items[0][quantity]', '?')} golive credits</h1>"
            f'<a href="{here}/pay">Pay</a> <a href="{here}/cancel">Cancel</a>'
        )
        return web.Response(text=body, content_type="text/html")

    async def pay(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        target = self._session(request)["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        raise web.HTTPSeeOther(target)

    async def cancel(self, request: web.Request) -> web.Response:
        raise web.HTTPSeeOther(self._session(request)["cancel_url"])


@asynccontextmanager
async def running_fake_stripe() -> AsyncIterator[FakeStripe]:
    fake = FakeStripe()
    app = web.Application()
    app.router.add_post("/v1/checkout/sessions", fake.create_session)
    app.router.add_get("/c/pay/{session_id}", fake.checkout_page)
    app.router.add_get("/c/pay/{session_id}/pay", fake.pay)
    app.router.add_get("/c/pay/{session_id}/cancel", fake.cancel)
    async with TestServer(app) as server:
        fake.url = str(server.make_url("")).rstrip("/")
        yield fake

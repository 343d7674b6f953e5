"""A Stripe API double: the one call golive makes, POST /v1/checkout/sessions (form-encoded).

The real `stripe` package talks to it unchanged (StripeClient with base_addresses={"api": url}).
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
        answer = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "payment_status": "unpaid",
        }
        if key is not None:
            self._answers[key] = answer
        return web.json_response(answer)


@asynccontextmanager
async def running_fake_stripe() -> AsyncIterator[FakeStripe]:
    fake = FakeStripe()
    app = web.Application()
    app.router.add_post("/v1/checkout/sessions", fake.create_session)
    async with TestServer(app) as server:
        fake.url = str(server.make_url("")).rstrip("/")
        yield fake

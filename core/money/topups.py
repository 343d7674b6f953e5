"""Buying credits with Stripe Checkout, and crediting them when Stripe's webhook says "paid".

`start_checkout` creates a Checkout Session (real `stripe` package, async over our aiohttp
session) and remembers what it offered. The webhook handler verifies Stripe's signature,
records the event id (a replayed event changes nothing), and credits the member once per
Checkout Session: the ledger key is the session id, so `checkout.session.completed` and a later
`checkout.session.async_payment_succeeded` for the same payment credit once between them.
The number of credits comes from our own record of the session; only if we died before
recording it do we fall back on the metadata we set on it (signed by Stripe like the rest).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
import stripe

from core.config import StripeSettings, WalletSettings
from core.kernel.clock import Clock
from core.kernel.errors import InvalidInput, PaymentRefused
from core.kernel.i18n import N_, Credits
from core.kernel.timefmt import to_db
from core.money import notes
from core.money.ledger import Ledger, fingerprint, require_credits
from core.store import Database, Row, Transaction

log = logging.getLogger(__name__)

HOW_TO_ENABLE = N_(
    "Buying credits isn't set up in this community yet. An admin can enable it by putting a "
    "Stripe secret key and webhook signing secret in the bot's settings (`STRIPE_SECRET_KEY` and "
    "`STRIPE_WEBHOOK_SECRET`, see `[stripe]` in config.toml) and pointing a Stripe webhook at "
    "`/stripe/webhook`. Until then, moderators can grant credits with `/credits grant`."
)
CREDITING_EVENTS = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)

WebhookResult = Literal["credited", "duplicate", "ignored"]

# Asking again within this window, before paying, reuses the Checkout Session.
IDEMPOTENCY_WINDOW_SECONDS = 10 * 60
NETWORK_RETRIES = 2
# Where Stripe sends the person back (web/topups.py serves them).
RETURN_PATH = "/topup/done"
CANCEL_PATH = "/topup/cancelled"


class BadSignature(Exception):
    """The webhook was not signed by Stripe with our secret (or is not a Stripe event at all)."""


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str
    credits: int
    price_text: str


@dataclass(frozen=True)
class CheckoutStatus:
    """What became of a Checkout Session we made: credited once Stripe's webhook said "paid"."""

    session_id: str
    member_id: int
    credits: int
    credited: bool


class TopupService:
    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        clock: Clock,
        http: aiohttp.ClientSession,
        config: StripeSettings,
        wallet: WalletSettings,
        public_url: str,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._clock = clock
        self._http = http
        self.config = config
        self.wallet = wallet
        self._public_url = public_url.rstrip("/")

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def price_text(self, credits: int) -> str:
        cents = credits * self.config.cents_per_credit
        return f"{cents / 100:,.2f} {self.config.currency.upper()}"

    async def start_checkout(
        self, member_id: int, credits: int, return_path: str = "/live"
    ) -> Checkout:
        """A Stripe Checkout link for `credits`; they are credited when Stripe confirms payment.

        Stripe sends the person back to golive's return page, which then leads to
        `return_path` (a path of this site the caller has checked)."""
        if not self.enabled:
            raise PaymentRefused(HOW_TO_ENABLE)
        credits = require_credits(credits)
        low, high = self.wallet.topup_min, self.wallet.topup_max
        if not low <= credits <= high:
            raise InvalidInput(
                "A top-up is between %(low)s and %(high)s.", low=Credits(low), high=Credits(high)
            )
        key = await self._idempotency_key(member_id, credits, return_path)
        try:
            async with asyncio.timeout(15):
                session = await self._client().v1.checkout.sessions.create_async(
                    self._session_params(member_id, credits, return_path),  # type: ignore[arg-type]
                    {"idempotency_key": key},
                )
        except (stripe.StripeError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("Stripe refused or failed to create a checkout session: %s", error)
            raise PaymentRefused(
                "Stripe couldn't start the payment right now. Nothing was charged; please try "
                "again in a minute."
            ) from error
        async with self._db.transaction() as tx:
            # A retried top-up gets the same session back from Stripe: remember it once.
            await tx.execute(
                "INSERT INTO stripe_checkouts (session_id, member_id, credits, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (session_id) DO NOTHING",
                (session.id, member_id, credits, to_db(self._clock.now())),
            )
        return Checkout(session.id, str(session.url), credits, self.price_text(credits))

    async def checkout_status(self, session_id: str) -> CheckoutStatus | None:
        """A Checkout Session we made, and whether its credits have landed; None if not ours."""
        row = await self._db.fetch_one(
            "SELECT member_id, credits, credited_transaction_id FROM stripe_checkouts"
            " WHERE session_id = ?",
            (session_id,),
        )
        if row is None:
            return None
        return CheckoutStatus(
            session_id=session_id,
            member_id=int(row["member_id"]),
            credits=int(row["credits"]),
            credited=row["credited_transaction_id"] is not None,
        )

    async def handle_webhook(self, payload: bytes, signature: str | None) -> WebhookResult:
        """Verify and apply one webhook delivery. Raises BadSignature; otherwise it's a 200."""
        if not self.config.webhook_secret:
            raise BadSignature("Stripe webhooks are not set up here")
        try:
            event = stripe.Webhook.construct_event(
                payload.decode("utf-8"), signature or "", self.config.webhook_secret
            )
        except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as error:
            raise BadSignature(str(error)) from error
        if event.type not in CREDITING_EVENTS:
            return "ignored"
        session: dict[str, Any] = event.data.object.to_dict()
        if session.get("payment_status") != "paid":
            # e.g. a bank transfer still pending: async_payment_succeeded will follow.
            return "ignored"
        return await self._credit(event.id, event.type, str(session.get("id")), session)

    async def _credit(
        self, event_id: str, event_type: str, session_id: str, session: dict[str, Any]
    ) -> WebhookResult:
        ledger, now = self._ledger, to_db(self._clock.now())
        async with self._db.transaction() as tx:
            fresh = await tx.execute(
                "INSERT INTO stripe_events (event_id, type, received_at) VALUES (?, ?, ?)"
                " ON CONFLICT (event_id) DO NOTHING",
                (event_id, event_type, now),
            )
            if not fresh:
                return "duplicate"
            offer = await tx.fetch_one(
                "SELECT * FROM stripe_checkouts WHERE session_id = ?", (session_id,)
            )
            if offer is None:
                # We died between Stripe creating the session and our recording it: the signed
                # metadata we set on the session still says who pays for what.
                offer = await self._offer_from_metadata(tx, session_id, session, now)
            if offer is None:
                log.warning("Stripe event %s is for an unknown checkout session", event_id)
                return "ignored"
            key = f"stripe-checkout:{session_id}"
            fp = fingerprint("topup", member=offer["member_id"], credits=offer["credits"])
            if await ledger.find_replay(tx, key, fp) is not None:
                return "duplicate"
            transaction_id = await ledger.post(
                tx,
                kind="topup",
                key=key,
                fingerprint_=fp,
                memo=f"Stripe {session_id}",
                legs=await ledger.credit_legs(
                    tx,
                    "topups",
                    offer["member_id"],
                    offer["credits"],
                    platform_note=f"Top-up by {offer['member_id']}",
                    member_note=notes.TOP_UP_STRIPE,
                ),
            )
            await tx.execute(
                "UPDATE stripe_events SET transaction_id = ? WHERE event_id = ?",
                (transaction_id, event_id),
            )
            await tx.execute(
                "UPDATE stripe_checkouts SET credited_transaction_id = ? WHERE session_id = ?",
                (transaction_id, session_id),
            )
        log.info("credited %s credits for Stripe session %s", offer["credits"], session_id)
        return "credited"

    async def _offer_from_metadata(
        self, tx: Transaction, session_id: str, session: dict[str, Any], now: str
    ) -> Row | None:
        metadata = session.get("metadata") or {}
        member, credits = str(metadata.get("member_id", "")), str(metadata.get("credits", ""))
        if not (member.isdigit() and credits.isdigit() and int(credits) > 0):
            return None
        if session.get("client_reference_id") != member:
            return None
        await tx.execute(
            "INSERT INTO stripe_checkouts (session_id, member_id, credits, created_at)"
            " VALUES (?, ?, ?, ?)",
            (session_id, int(member), int(credits), now),
        )
        return await tx.fetch_one(
            "SELECT * FROM stripe_checkouts WHERE session_id = ?", (session_id,)
        )

    async def _idempotency_key(self, member_id: int, credits: int, return_path: str) -> str:
        """The same for a member asking again for the same amount soon, before paying.

        Stripe answers a repeated key with the session it already made, so a retried `/wallet
        topup` (or a retry of the request itself) hands out one link, not two. Paying for it
        moves the count on, so the next purchase is a new session; so does the next window.
        Stripe refuses a key reused with other parameters, so the page to return to is part of
        it: `/wallet topup` and the tip form on a watch page get a session each.
        """
        row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM stripe_checkouts"
            " WHERE member_id = ? AND credited_transaction_id IS NOT NULL",
            (member_id,),
        )
        paid = 0 if row is None else int(row[0])
        window = int(self._clock.now().timestamp() // IDEMPOTENCY_WINDOW_SECONDS)
        place = hashlib.sha256(return_path.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return f"golive-topup-{member_id}-{credits}-{paid}-{window}-{place}"

    def _client(self) -> stripe.StripeClient:
        assert self.config.secret_key is not None  # noqa: S101 - checked by `enabled`
        base = {"api": self.config.api_base} if self.config.api_base else None
        return stripe.StripeClient(
            self.config.secret_key,
            http_client=stripe.AIOHTTPClient(session=self._http),
            base_addresses=base,  # type: ignore[arg-type]
            # Safe to retry: every create carries an idempotency key (see _idempotency_key).
            max_network_retries=NETWORK_RETRIES,
        )

    def _session_params(self, member_id: int, credits: int, return_path: str) -> dict[str, Any]:
        back = quote(return_path, safe="/")
        return {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": credits,
                    "price_data": {
                        "currency": self.config.currency,
                        "unit_amount": self.config.cents_per_credit,
                        "product_data": {"name": "golive credits"},
                    },
                }
            ],
            "client_reference_id": str(member_id),
            "metadata": {"member_id": str(member_id), "credits": str(credits)},
            # Stripe fills in {CHECKOUT_SESSION_ID}: the return page asks whether it is credited.
            "success_url": f"{self._public_url}{RETURN_PATH}?session_id={{CHECKOUT_SESSION_ID}}"
            f"&next={back}",
            "cancel_url": f"{self._public_url}{CANCEL_PATH}?next={back}",
        }

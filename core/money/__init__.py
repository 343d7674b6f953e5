"""Credits: the ledger's books, tips, go-live fees and passes, payouts, Stripe top-ups.

The public module: other packages import from here, never from the modules inside."""

from core.money.fees import GoLiveFees, PassService, Renewal, StreamingPass
from core.money.ledger import Ledger, WalletLine, credits_text
from core.money.payouts import PayoutRequest, PayoutService
from core.money.tips import (
    RefundableTip,
    Standing,
    TipEvent,
    TipOutcome,
    TipService,
    record_tip_events,
)
from core.money.topups import CANCEL_PATH, RETURN_PATH, BadSignature, CheckoutStatus, TopupService

__all__ = [
    "CANCEL_PATH",
    "RETURN_PATH",
    "BadSignature",
    "CheckoutStatus",
    "GoLiveFees",
    "Ledger",
    "PassService",
    "PayoutRequest",
    "PayoutService",
    "RefundableTip",
    "Renewal",
    "Standing",
    "StreamingPass",
    "TipEvent",
    "TipOutcome",
    "TipService",
    "TopupService",
    "WalletLine",
    "credits_text",
    "record_tip_events",
]

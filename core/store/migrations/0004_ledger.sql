-- Money: a double-entry ledger of integer credits, and the records that explain each movement
-- (tips, go-live fees, Stripe top-ups, payout requests, streaming passes).
--
-- Every ledger transaction has two or more entries that sum to zero. An account's balance is a
-- cache of the sum of its entries, kept by a trigger, so it cannot drift from them; member
-- accounts can never go below zero (the service checks first, the CHECK is the second line).

CREATE TABLE ledger_accounts (
    id         INTEGER PRIMARY KEY,
    member_id  INTEGER UNIQUE,          -- Discord user id of a member's wallet
    platform   TEXT UNIQUE CHECK (platform IN ('fees', 'topups', 'payouts', 'grants')),
    balance    INTEGER NOT NULL DEFAULT 0 CHECK (typeof(balance) = 'integer'),
    created_at TEXT NOT NULL,
    CHECK ((member_id IS NULL) <> (platform IS NULL)),
    CHECK (member_id IS NULL OR balance >= 0)
);

-- Platform accounts. 'topups' and 'grants' are where credits come from (they go negative by the
-- amount brought in); 'fees' collects go-live fees and passes; 'payouts' holds what members asked
-- to withdraw (and, once paid, what left the platform).
INSERT INTO ledger_accounts (platform, created_at) VALUES
    ('fees', '2026-01-01T00:00:00+00:00'),
    ('topups', '2026-01-01T00:00:00+00:00'),
    ('payouts', '2026-01-01T00:00:00+00:00'),
    ('grants', '2026-01-01T00:00:00+00:00');

CREATE TABLE ledger_transactions (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('topup', 'grant', 'revoke', 'golive_fee',
                        'fee_refund', 'tip', 'tip_refund', 'payout', 'payout_return', 'pass')),
    -- A retry or a double click carries the same key: it gets the first result back.
    idempotency_key TEXT NOT NULL UNIQUE,
    -- What was asked (kind + parameters, hashed), to tell a retry from a reused key.
    fingerprint     TEXT NOT NULL,
    actor_id        INTEGER,            -- who made it happen (member, moderator); NULL = golive
    memo            TEXT NOT NULL DEFAULT '',   -- e.g. a moderator's reason: the audit trail
    created_at      TEXT NOT NULL
);
CREATE INDEX ledger_transactions_created ON ledger_transactions (created_at);

CREATE TABLE ledger_entries (
    id             INTEGER PRIMARY KEY,
    transaction_id INTEGER NOT NULL REFERENCES ledger_transactions (id),
    account_id     INTEGER NOT NULL REFERENCES ledger_accounts (id),
    amount         INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount <> 0),
    note           TEXT NOT NULL DEFAULT ''    -- how this side reads in a wallet's history
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, transaction_id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

-- The balance follows the entries, in the same statement: a negative member balance makes the
-- INSERT fail (the CHECK above), so the whole transaction rolls back.
CREATE TRIGGER ledger_entries_move_balance AFTER INSERT ON ledger_entries
BEGIN
    UPDATE ledger_accounts SET balance = balance + NEW.amount WHERE id = NEW.account_id;
END;

-- The ledger is append-only: mistakes are corrected by new transactions (refunds, revokes).
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN
    SELECT RAISE(ABORT, 'ledger transactions are append-only');
END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN
    SELECT RAISE(ABORT, 'ledger transactions are append-only');
END;

CREATE TABLE tips (
    id                    INTEGER PRIMARY KEY,
    transaction_id        INTEGER NOT NULL UNIQUE REFERENCES ledger_transactions (id),
    donor_id              INTEGER NOT NULL,
    donor_name            TEXT    NOT NULL,
    streamer_id           INTEGER NOT NULL,
    stream_id             INTEGER REFERENCES streams (id) ON DELETE SET NULL,
    session_id            INTEGER REFERENCES stream_sessions (id) ON DELETE SET NULL,
    amount                INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount > 0),
    message               TEXT    NOT NULL DEFAULT '',
    created_at            TEXT    NOT NULL,
    refund_transaction_id INTEGER UNIQUE REFERENCES ledger_transactions (id),
    CHECK (donor_id <> streamer_id)
);
CREATE INDEX tips_created ON tips (created_at);
CREATE INDEX tips_streamer ON tips (streamer_id, created_at);

CREATE TABLE golive_fees (
    id                    INTEGER PRIMARY KEY,
    transaction_id        INTEGER NOT NULL UNIQUE REFERENCES ledger_transactions (id),
    member_id             INTEGER NOT NULL,
    stream_id             INTEGER REFERENCES streams (id) ON DELETE SET NULL,
    amount                INTEGER NOT NULL CHECK (amount > 0),
    created_at            TEXT    NOT NULL,
    session_id            INTEGER UNIQUE REFERENCES stream_sessions (id) ON DELETE SET NULL,
    refund_transaction_id INTEGER UNIQUE REFERENCES ledger_transactions (id),
    CHECK (session_id IS NULL OR refund_transaction_id IS NULL)
);
CREATE INDEX golive_fees_member ON golive_fees (member_id, created_at);

-- Stripe events already handled, by event id: a replayed webhook changes nothing.
CREATE TABLE stripe_events (
    event_id       TEXT PRIMARY KEY,
    type           TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    transaction_id INTEGER REFERENCES ledger_transactions (id)
);

-- Checkout sessions handed to members, so a webhook's credit can be matched to what was offered.
CREATE TABLE stripe_checkouts (
    session_id  TEXT PRIMARY KEY,
    member_id   INTEGER NOT NULL,
    credits     INTEGER NOT NULL CHECK (credits > 0),
    created_at  TEXT    NOT NULL,
    credited_transaction_id INTEGER UNIQUE REFERENCES ledger_transactions (id)
);

CREATE TABLE payout_requests (
    id                    INTEGER PRIMARY KEY,
    member_id             INTEGER NOT NULL,
    member_name           TEXT    NOT NULL,
    amount                INTEGER NOT NULL CHECK (amount > 0),
    status                TEXT    NOT NULL DEFAULT 'requested'
                              CHECK (status IN ('requested', 'paid', 'rejected')),
    transaction_id        INTEGER NOT NULL UNIQUE REFERENCES ledger_transactions (id),
    return_transaction_id INTEGER UNIQUE REFERENCES ledger_transactions (id),
    requested_at          TEXT    NOT NULL,
    decided_at            TEXT,
    decided_by            INTEGER,
    note                  TEXT    NOT NULL DEFAULT '',
    CHECK ((status = 'rejected') = (return_transaction_id IS NOT NULL))
);
CREATE INDEX payout_requests_status ON payout_requests (status, requested_at);

-- Monthly streaming passes (when fees.mode = "pass").
CREATE TABLE streaming_passes (
    member_id      INTEGER PRIMARY KEY,
    paid_until     TEXT    NOT NULL,
    auto_renew     INTEGER NOT NULL DEFAULT 1 CHECK (auto_renew IN (0, 1)),
    reminded_until TEXT,                -- the paid_until we already sent the renewal DM for
    updated_at     TEXT    NOT NULL
);

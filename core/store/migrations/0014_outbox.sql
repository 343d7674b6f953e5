-- The outbox (core/store/outbox.py): events written in the same transaction as the change that
-- caused them, and each durable consumer's delivery of each event, so a process that stops
-- between the commit and the delivery loses nothing and another process can deliver.
CREATE TABLE outbox_events (
    id         INTEGER PRIMARY KEY,
    type       TEXT    NOT NULL,  -- the event's class name (StreamMediaStarted, ...)
    payload    TEXT    NOT NULL,  -- the event as JSON
    guild_id   INTEGER,           -- the one guild it concerns, if any (shard routing)
    created_at TEXT    NOT NULL
);
CREATE INDEX outbox_events_created ON outbox_events (created_at);

-- Durable subscriptions: which consumer takes which event type. Every process writes the rows
-- of its event table at start (only ever adding), so an event recorded while no consumer runs
-- waits for it.
CREATE TABLE outbox_routes (
    event_type TEXT NOT NULL,
    consumer   TEXT NOT NULL,
    PRIMARY KEY (event_type, consumer)
);

-- One row per (event, consumer), made with the event (the trigger below). Pending while
-- done_at is NULL; `available_at` is when it may be taken: NULL (at once) for a fresh one, so
-- clocks of different machines never delay it; the end of the lease while a process holds it
-- (a dead process's claim simply runs out); the retry's time after a failure.
CREATE TABLE outbox_deliveries (
    event_id     INTEGER NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
    consumer     TEXT    NOT NULL,
    available_at TEXT,
    claimed_by   TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    done_at      TEXT,
    error        TEXT,   -- why it was given up (NULL: delivered)
    PRIMARY KEY (event_id, consumer)
);
CREATE INDEX outbox_deliveries_pending
    ON outbox_deliveries (consumer, available_at) WHERE done_at IS NULL;

CREATE TRIGGER outbox_fan_out AFTER INSERT ON outbox_events
BEGIN
    INSERT INTO outbox_deliveries (event_id, consumer)
    SELECT NEW.id, consumer FROM outbox_routes WHERE event_type = NEW.type;
END;

-- Effects done at most once across redeliveries (a chat copy into one thread, a thread's
-- closing notice): the consumer claims the key before it acts.
CREATE TABLE outbox_effects (
    key        TEXT PRIMARY KEY,
    claimed_at TEXT NOT NULL
);
CREATE INDEX outbox_effects_claimed ON outbox_effects (claimed_at);

-- Media-first going live. A go-live opens the room and the session (streams.active = 1), but a
-- stream is *on air* (shown live to viewers, announced, on the grid) only once its first video
-- arrived, or after `streams.media_wait_seconds` without (core/streams/service.py).
--
-- stream_sessions.media_started_at: when this session went on air (NULL: still starting). It is
-- set once, by a conditional UPDATE, so exactly one process publishes StreamMediaStarted.
-- streams.on_air mirrors it for the open session, so discovery's indexes can be kept on it.
ALTER TABLE stream_sessions ADD COLUMN media_started_at TEXT;
ALTER TABLE streams ADD COLUMN on_air INTEGER NOT NULL DEFAULT 0
    CHECK (on_air IN (0, 1) AND (on_air = 0 OR active = 1));

-- Streams live before this migration were announced already: they are on air.
UPDATE stream_sessions SET media_started_at = started_at WHERE ended_at IS NULL;
UPDATE streams SET on_air = active;

-- Discovery (0002) counted and indexed `active`; from now on what viewers find is what is on air.
DROP TRIGGER streams_counts_insert;
DROP TRIGGER streams_counts_update;
DROP TRIGGER streams_counts_delete;
DROP TRIGGER streams_places_insert;
DROP TRIGGER streams_places_update;
DROP TRIGGER streams_places_delete;
DROP INDEX streams_live_slug;
DROP INDEX streams_live_owner_name_key;

DELETE FROM live_stream_places;
INSERT INTO live_stream_places (id, min_lat, max_lat, min_lng, max_lng)
    SELECT id, latitude, latitude, longitude, longitude FROM streams
    WHERE latitude IS NOT NULL AND on_air = 1;
UPDATE discovery_counts SET value = (SELECT count(*) FROM streams WHERE on_air = 1)
    WHERE name = 'live';
UPDATE discovery_counts
    SET value = (SELECT count(*) FROM streams WHERE latitude IS NOT NULL AND on_air = 1)
    WHERE name = 'placed_live';

CREATE TRIGGER streams_counts_insert AFTER INSERT ON streams
BEGIN
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'all';
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'live' AND new.on_air = 1;
END;

CREATE TRIGGER streams_counts_update AFTER UPDATE OF on_air ON streams
WHEN old.on_air IS NOT new.on_air
BEGIN
    UPDATE discovery_counts SET value = value + new.on_air - old.on_air WHERE name = 'live';
END;

CREATE TRIGGER streams_counts_delete AFTER DELETE ON streams
BEGIN
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'all';
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'live' AND old.on_air = 1;
END;

CREATE TRIGGER streams_places_insert AFTER INSERT ON streams
WHEN new.latitude IS NOT NULL
BEGIN
    INSERT INTO stream_places (id, min_lat, max_lat, min_lng, max_lng)
        VALUES (new.id, new.latitude, new.latitude, new.longitude, new.longitude);
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'placed';
    INSERT INTO live_stream_places (id, min_lat, max_lat, min_lng, max_lng)
        SELECT new.id, new.latitude, new.latitude, new.longitude, new.longitude
        WHERE new.on_air = 1;
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'placed_live' AND new.on_air = 1;
END;

CREATE TRIGGER streams_places_update AFTER UPDATE OF latitude, longitude, on_air ON streams
WHEN old.latitude IS NOT new.latitude OR old.longitude IS NOT new.longitude
    OR old.on_air IS NOT new.on_air
BEGIN
    DELETE FROM stream_places WHERE id = old.id;
    DELETE FROM live_stream_places WHERE id = old.id;
    UPDATE discovery_counts SET value = value - 1
        WHERE name = 'placed' AND old.latitude IS NOT NULL;
    UPDATE discovery_counts SET value = value - 1
        WHERE name = 'placed_live' AND old.latitude IS NOT NULL AND old.on_air = 1;
    INSERT INTO stream_places (id, min_lat, max_lat, min_lng, max_lng)
        SELECT new.id, new.latitude, new.latitude, new.longitude, new.longitude
        WHERE new.latitude IS NOT NULL;
    INSERT INTO live_stream_places (id, min_lat, max_lat, min_lng, max_lng)
        SELECT new.id, new.latitude, new.latitude, new.longitude, new.longitude
        WHERE new.latitude IS NOT NULL AND new.on_air = 1;
    UPDATE discovery_counts SET value = value + 1
        WHERE name = 'placed' AND new.latitude IS NOT NULL;
    UPDATE discovery_counts SET value = value + 1
        WHERE name = 'placed_live' AND new.latitude IS NOT NULL AND new.on_air = 1;
END;

CREATE TRIGGER streams_places_delete AFTER DELETE ON streams
WHEN old.latitude IS NOT NULL
BEGIN
    DELETE FROM stream_places WHERE id = old.id;
    DELETE FROM live_stream_places WHERE id = old.id;
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'placed';
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'placed_live' AND old.on_air = 1;
END;

CREATE INDEX streams_live_slug ON streams (slug) WHERE on_air = 1;
CREATE INDEX streams_live_owner_name_key ON streams (lower(owner_name), slug) WHERE on_air = 1;

-- The fallback job looks for sessions still starting.
CREATE INDEX stream_sessions_starting ON stream_sessions (started_at)
    WHERE ended_at IS NULL AND media_started_at IS NULL;

-- `/stream golive` in a guild without an announcement channel asks to be announced where it was
-- typed; the announcement itself waits for the media (bot/announcer.py).
CREATE TABLE announcement_requests (
    session_id INTEGER NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    PRIMARY KEY (session_id, guild_id)
);

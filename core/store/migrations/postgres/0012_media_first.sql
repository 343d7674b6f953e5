-- Media-first going live, PostgreSQL edition of ../0012_media_first.sql. A go-live opens the room
-- and the session (streams.active = 1), but a stream is *on air* (shown live to viewers,
-- announced, on the grid) only once its first video arrived, or after
-- `streams.media_wait_seconds` without (core/streams/service.py).
--
-- stream_sessions.media_started_at: when this session went on air (NULL: still starting). It is
-- set once, by a conditional UPDATE, so exactly one process publishes StreamMediaStarted.
-- streams.on_air mirrors it for the open session, so discovery's indexes can be kept on it.
ALTER TABLE stream_sessions ADD COLUMN media_started_at TEXT COLLATE "C";
ALTER TABLE streams ADD COLUMN on_air INTEGER NOT NULL DEFAULT 0
    CHECK (on_air IN (0, 1) AND (on_air = 0 OR active = 1));

-- Streams live before this migration were announced already: they are on air.
UPDATE stream_sessions SET media_started_at = started_at WHERE ended_at IS NULL;
UPDATE streams SET on_air = active;

-- Discovery (0002) counted and indexed `active`; from now on what viewers find is what is on air.
-- SQLite drops and re-creates its triggers and refills its live R*Tree; here the same triggers
-- get new bodies and conditions, and the live indexes new predicates.
DROP TRIGGER streams_counts_insert ON streams;
DROP TRIGGER streams_counts_update ON streams;
DROP TRIGGER streams_counts_delete ON streams;
DROP TRIGGER streams_places_insert ON streams;
DROP TRIGGER streams_places_update ON streams;
DROP TRIGGER streams_places_delete ON streams;
DROP INDEX streams_live_slug;
DROP INDEX streams_live_owner_name_key;
DROP INDEX live_stream_places;

CREATE INDEX live_stream_places ON streams USING gist (unit_sphere_point(latitude, longitude))
    WHERE latitude IS NOT NULL AND on_air = 1;
UPDATE discovery_counts SET value = (SELECT count(*) FROM streams WHERE on_air = 1)
    WHERE name = 'live';
UPDATE discovery_counts
    SET value = (SELECT count(*) FROM streams WHERE latitude IS NOT NULL AND on_air = 1)
    WHERE name = 'placed_live';

CREATE OR REPLACE FUNCTION streams_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'all';
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'live' AND NEW.on_air = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_counts_insert AFTER INSERT ON streams
    FOR EACH ROW EXECUTE FUNCTION streams_counts_insert();

CREATE OR REPLACE FUNCTION streams_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE discovery_counts SET value = value + NEW.on_air - OLD.on_air WHERE name = 'live';
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_counts_update AFTER UPDATE OF on_air ON streams
    FOR EACH ROW WHEN (OLD.on_air IS DISTINCT FROM NEW.on_air)
    EXECUTE FUNCTION streams_counts_update();

CREATE OR REPLACE FUNCTION streams_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'all';
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'live' AND OLD.on_air = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_counts_delete AFTER DELETE ON streams
    FOR EACH ROW EXECUTE FUNCTION streams_counts_delete();

CREATE OR REPLACE FUNCTION streams_places_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'placed';
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'placed_live' AND NEW.on_air = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_places_insert AFTER INSERT ON streams
    FOR EACH ROW WHEN (NEW.latitude IS NOT NULL)
    EXECUTE FUNCTION streams_places_insert();

CREATE OR REPLACE FUNCTION streams_places_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    placed_change      INTEGER := (NEW.latitude IS NOT NULL)::INTEGER
                                  - (OLD.latitude IS NOT NULL)::INTEGER;
    placed_live_change INTEGER := (NEW.latitude IS NOT NULL AND NEW.on_air = 1)::INTEGER
                                  - (OLD.latitude IS NOT NULL AND OLD.on_air = 1)::INTEGER;
BEGIN
    UPDATE discovery_counts SET value = value + placed_change
        WHERE name = 'placed' AND placed_change <> 0;
    UPDATE discovery_counts SET value = value + placed_live_change
        WHERE name = 'placed_live' AND placed_live_change <> 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_places_update AFTER UPDATE OF latitude, longitude, on_air ON streams
    FOR EACH ROW WHEN ((OLD.latitude IS NULL) IS DISTINCT FROM (NEW.latitude IS NULL)
        OR OLD.on_air IS DISTINCT FROM NEW.on_air)
    EXECUTE FUNCTION streams_places_update();

CREATE OR REPLACE FUNCTION streams_places_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'placed';
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'placed_live' AND OLD.on_air = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_places_delete AFTER DELETE ON streams
    FOR EACH ROW WHEN (OLD.latitude IS NOT NULL)
    EXECUTE FUNCTION streams_places_delete();

CREATE INDEX streams_live_slug ON streams (slug) WHERE on_air = 1;
CREATE INDEX streams_live_owner_name_key ON streams (lower(owner_name), slug) WHERE on_air = 1;

-- The fallback job looks for sessions still starting.
CREATE INDEX stream_sessions_starting ON stream_sessions (started_at)
    WHERE ended_at IS NULL AND media_started_at IS NULL;

-- `/stream golive` in a guild without an announcement channel asks to be announced where it was
-- typed; the announcement itself waits for the media (bot/announcer.py).
CREATE TABLE announcement_requests (
    session_id BIGINT NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    guild_id   BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    PRIMARY KEY (session_id, guild_id)
);

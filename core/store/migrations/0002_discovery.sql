-- Discovery: find streams by name or near a place, fast at a million stream pages.
--
-- Places: two R*Tree indexes of points (a box of zero size per stream), one with every placed
-- stream page and one with the live ones only, so "live near Lisbon" never wades through the
-- offline pages. Triggers on `streams` keep both in step with every write, whoever makes it.
-- R*Tree stores 32-bit floats rounded outwards, so it is only a filter; the exact distance is
-- computed from streams.latitude/longitude.
--
-- Names: prefix ranges over the slug (NOCASE) and the display name folded with lower();
-- the partial indexes serve the live-only searches.

CREATE VIRTUAL TABLE stream_places USING rtree (id, min_lat, max_lat, min_lng, max_lng);
CREATE VIRTUAL TABLE live_stream_places USING rtree (id, min_lat, max_lat, min_lng, max_lng);

-- How many stream pages there are (all, live) and how many each place index holds, so a
-- search's total needs no count over 100,000 rows.
CREATE TABLE discovery_counts (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

INSERT INTO stream_places (id, min_lat, max_lat, min_lng, max_lng)
    SELECT id, latitude, latitude, longitude, longitude FROM streams WHERE latitude IS NOT NULL;
INSERT INTO live_stream_places (id, min_lat, max_lat, min_lng, max_lng)
    SELECT id, latitude, latitude, longitude, longitude FROM streams
    WHERE latitude IS NOT NULL AND active = 1;
INSERT INTO discovery_counts (name, value)
    SELECT 'placed', count(*) FROM streams WHERE latitude IS NOT NULL;
INSERT INTO discovery_counts (name, value)
    SELECT 'placed_live', count(*) FROM streams WHERE latitude IS NOT NULL AND active = 1;
INSERT INTO discovery_counts (name, value) SELECT 'all', count(*) FROM streams;
INSERT INTO discovery_counts (name, value) SELECT 'live', count(*) FROM streams WHERE active = 1;

CREATE TRIGGER streams_counts_insert AFTER INSERT ON streams
BEGIN
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'all';
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'live' AND new.active = 1;
END;

CREATE TRIGGER streams_counts_update AFTER UPDATE OF active ON streams
WHEN old.active IS NOT new.active
BEGIN
    UPDATE discovery_counts SET value = value + new.active - old.active WHERE name = 'live';
END;

CREATE TRIGGER streams_counts_delete AFTER DELETE ON streams
BEGIN
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'all';
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'live' AND old.active = 1;
END;

CREATE TRIGGER streams_places_insert AFTER INSERT ON streams
WHEN new.latitude IS NOT NULL
BEGIN
    INSERT INTO stream_places (id, min_lat, max_lat, min_lng, max_lng)
        VALUES (new.id, new.latitude, new.latitude, new.longitude, new.longitude);
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'placed';
    INSERT INTO live_stream_places (id, min_lat, max_lat, min_lng, max_lng)
        SELECT new.id, new.latitude, new.latitude, new.longitude, new.longitude
        WHERE new.active = 1;
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'placed_live' AND new.active = 1;
END;

-- Any change of place or of liveness: take the old entries out, put the new ones in.
CREATE TRIGGER streams_places_update AFTER UPDATE OF latitude, longitude, active ON streams
WHEN old.latitude IS NOT new.latitude OR old.longitude IS NOT new.longitude
    OR old.active IS NOT new.active
BEGIN
    DELETE FROM stream_places WHERE id = old.id;
    DELETE FROM live_stream_places WHERE id = old.id;
    UPDATE discovery_counts SET value = value - 1
        WHERE name = 'placed' AND old.latitude IS NOT NULL;
    UPDATE discovery_counts SET value = value - 1
        WHERE name = 'placed_live' AND old.latitude IS NOT NULL AND old.active = 1;
    INSERT INTO stream_places (id, min_lat, max_lat, min_lng, max_lng)
        SELECT new.id, new.latitude, new.latitude, new.longitude, new.longitude
        WHERE new.latitude IS NOT NULL;
    INSERT INTO live_stream_places (id, min_lat, max_lat, min_lng, max_lng)
        SELECT new.id, new.latitude, new.latitude, new.longitude, new.longitude
        WHERE new.latitude IS NOT NULL AND new.active = 1;
    UPDATE discovery_counts SET value = value + 1
        WHERE name = 'placed' AND new.latitude IS NOT NULL;
    UPDATE discovery_counts SET value = value + 1
        WHERE name = 'placed_live' AND new.latitude IS NOT NULL AND new.active = 1;
END;

CREATE TRIGGER streams_places_delete AFTER DELETE ON streams
WHEN old.latitude IS NOT NULL
BEGIN
    DELETE FROM stream_places WHERE id = old.id;
    DELETE FROM live_stream_places WHERE id = old.id;
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'placed';
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'placed_live' AND old.active = 1;
END;

-- Name prefixes. streams.slug already has a UNIQUE (NOCASE) index for the offline-included case.
CREATE INDEX streams_live_slug ON streams (slug) WHERE active = 1;
-- The slug rides along so "display name matches but the slug did not" is read from the index.
CREATE INDEX streams_owner_name_key ON streams (lower(owner_name), slug);
CREATE INDEX streams_live_owner_name_key ON streams (lower(owner_name), slug) WHERE active = 1;

-- Discovery, PostgreSQL edition of ../0002_discovery.sql: find streams by name or near a place,
-- fast at a million stream pages.
--
-- Places. SQLite keeps two R*Tree tables of points in step by triggers; here the same two sets
-- are partial GiST indexes on `streams` itself (named like those tables), so there is nothing to
-- keep in step. Each place is indexed as a point on the unit sphere (a 3-D `cube`): straight-line
-- distance through the Earth grows with the great-circle distance, so `<->` (nearest first, read
-- from the index) lists streams in the order the haversine formula gives. Only the `cube`
-- extension is needed, which Debian's postgresql package ships.
--
-- Names: prefix ranges over the slug (citext "C", like NOCASE) and the display name folded with
-- lower() (ASCII only, like SQLite's); the partial indexes serve the live-only searches.

CREATE EXTENSION IF NOT EXISTS cube;

-- Where a place is on the unit sphere. A SQL-standard body is bound when created, so the index
-- below survives a dump and restore whatever the search_path then is.
CREATE FUNCTION unit_sphere_point(latitude DOUBLE PRECISION, longitude DOUBLE PRECISION)
    RETURNS cube
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN cube(ARRAY[
        cos(radians(latitude)) * cos(radians(longitude)),
        cos(radians(latitude)) * sin(radians(longitude)),
        sin(radians(latitude))
    ]);

CREATE INDEX stream_places ON streams USING gist (unit_sphere_point(latitude, longitude))
    WHERE latitude IS NOT NULL;
CREATE INDEX live_stream_places ON streams USING gist (unit_sphere_point(latitude, longitude))
    WHERE latitude IS NOT NULL AND active = 1;

-- How many stream pages there are (all, live) and how many are placed (all, live), so a
-- search's total needs no count over 100,000 rows.
CREATE TABLE discovery_counts (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);

INSERT INTO discovery_counts (name, value)
    SELECT 'placed', count(*) FROM streams WHERE latitude IS NOT NULL;
INSERT INTO discovery_counts (name, value)
    SELECT 'placed_live', count(*) FROM streams WHERE latitude IS NOT NULL AND active = 1;
INSERT INTO discovery_counts (name, value) SELECT 'all', count(*) FROM streams;
INSERT INTO discovery_counts (name, value) SELECT 'live', count(*) FROM streams WHERE active = 1;

-- The triggers keep the counts, with SQLite's names. A count row is only written when it
-- changes: each write holds that row until its transaction ends, and every go-live in the
-- cluster passes through it.

CREATE FUNCTION streams_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'all';
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'live' AND NEW.active = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_counts_insert AFTER INSERT ON streams
    FOR EACH ROW EXECUTE FUNCTION streams_counts_insert();

CREATE FUNCTION streams_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE discovery_counts SET value = value + NEW.active - OLD.active WHERE name = 'live';
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_counts_update AFTER UPDATE OF active ON streams
    FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION streams_counts_update();

CREATE FUNCTION streams_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'all';
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'live' AND OLD.active = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_counts_delete AFTER DELETE ON streams
    FOR EACH ROW EXECUTE FUNCTION streams_counts_delete();

CREATE FUNCTION streams_places_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'placed';
    UPDATE discovery_counts SET value = value + 1 WHERE name = 'placed_live' AND NEW.active = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_places_insert AFTER INSERT ON streams
    FOR EACH ROW WHEN (NEW.latitude IS NOT NULL)
    EXECUTE FUNCTION streams_places_insert();

-- Placed or not, live or not: the counts move. (A move from one place to another changes no
-- count, and the indexes follow by themselves, so it does not fire.)
CREATE FUNCTION streams_places_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    placed_change      INTEGER := (NEW.latitude IS NOT NULL)::INTEGER
                                  - (OLD.latitude IS NOT NULL)::INTEGER;
    placed_live_change INTEGER := (NEW.latitude IS NOT NULL AND NEW.active = 1)::INTEGER
                                  - (OLD.latitude IS NOT NULL AND OLD.active = 1)::INTEGER;
BEGIN
    UPDATE discovery_counts SET value = value + placed_change
        WHERE name = 'placed' AND placed_change <> 0;
    UPDATE discovery_counts SET value = value + placed_live_change
        WHERE name = 'placed_live' AND placed_live_change <> 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_places_update AFTER UPDATE OF latitude, longitude, active ON streams
    FOR EACH ROW WHEN ((OLD.latitude IS NULL) IS DISTINCT FROM (NEW.latitude IS NULL)
        OR OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION streams_places_update();

CREATE FUNCTION streams_places_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'placed';
    UPDATE discovery_counts SET value = value - 1 WHERE name = 'placed_live' AND OLD.active = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER streams_places_delete AFTER DELETE ON streams
    FOR EACH ROW WHEN (OLD.latitude IS NOT NULL)
    EXECUTE FUNCTION streams_places_delete();

-- Name prefixes. streams.slug already has a UNIQUE (citext) index for the offline-included case.
CREATE INDEX streams_live_slug ON streams (slug) WHERE active = 1;
-- The slug rides along so "display name matches but the slug did not" is read from the index.
CREATE INDEX streams_owner_name_key ON streams (lower(owner_name), slug);
CREATE INDEX streams_live_owner_name_key ON streams (lower(owner_name), slug) WHERE active = 1;

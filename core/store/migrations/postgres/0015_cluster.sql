-- Cluster coordination: what several golive processes (`golive bot`, `golive web` replicas, on one
-- SQLite file or one PostgreSQL) must agree on, that used to live in one process's memory.
--
-- scheduler_leases: one row per periodic job (golive/scheduler.py). The process named in `holder`
-- runs the job until `expires_at`; it renews the lease at each of its turns, with a conditional
-- upsert (core/cluster/leases.py), so exactly one process holds it at a time. When the holder dies
-- the lease runs out and the next process whose turn comes takes it. Discord jobs carry their
-- shard scope in the name ("catch-up shards 0,1/4"), so only bot processes of those shards compete.
CREATE TABLE scheduler_leases (
    job        TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT COLLATE "C" NOT NULL,  -- host:pid:random of the process that holds it
    taken_at   TEXT COLLATE "C" NOT NULL,  -- when this holder took it (kept while it renews)
    expires_at TEXT COLLATE "C" NOT NULL   -- ISO-8601 UTC; after it any process may take the lease
);

-- rate_limits: shared flood limits and slow mode (core/cluster/limits.py), one row per limited
-- key ('chat:person:u:1001', 'chat:ip:203.0.113.9', 'chat:slow:7:u:1001:30'). A generic cell rate
-- algorithm: `tat_us` is the key's theoretical arrival time in microseconds since the epoch, a
-- number rather than ISO text because the conditional upsert does arithmetic on it; the row also
-- keeps its limit (one request per `interval_us`, `tolerance_us` early at most = the burst), so
-- one multi-row upsert checks many keys, each against its own limit. A row whose tat_us has
-- passed carries nothing (the key is back to its full burst) and is deleted by the scheduler's
-- forget-limits job.
CREATE TABLE rate_limits (
    key          TEXT COLLATE "C" PRIMARY KEY,
    tat_us       BIGINT NOT NULL,
    interval_us  BIGINT NOT NULL CHECK (interval_us > 0),
    tolerance_us BIGINT NOT NULL CHECK (tolerance_us >= 0)
);
CREATE INDEX rate_limits_tat ON rate_limits (tat_us);

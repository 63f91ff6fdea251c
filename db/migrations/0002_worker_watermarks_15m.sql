-- 0002_worker_watermarks_15m.sql — what the complete worker (SPEC §5) needs beyond 0001:
--   1. rollups_15m: UTC quarter-hour rollups. Every IANA zone's UTC offset is a multiple of 15
--      minutes (all of them, :30 and :45 zones and DST rules included), so every local day is a
--      whole number of quarter hours: a day in Asia/Kolkata or Asia/Kathmandu is the sum (or, for
--      unique, the sketch merge) of its 92..100 quarter-hour rows, exact. Zones on whole-hour
--      offsets can use rollups_hourly the same way. See services/worker/README.md.
--   2. consumer_offsets.watermark: the partition watermark (highest event time seen minus the
--      allowed lateness), written in the same transaction as the offsets so a restarted worker
--      makes the same lateness decisions for replayed messages.
--   3. partial indexes on open rollup rows, so closing buckets behind the watermark (every
--      second) touches only rows that are still open instead of scanning today's partitions.
--   4. ea_rollup_lock_key: the advisory lock every writer of rollups.hll takes (see sink.c).
--   5. rollup_dim_values: the registry that makes the per-dimension cardinality cap exact.

CREATE TABLE rollups_15m (
    tenant_id   text NOT NULL,
    metric      text NOT NULL,
    bucket      timestamptz NOT NULL,
    dims        jsonb NOT NULL DEFAULT '{}',
    cnt         bigint NOT NULL DEFAULT 0,
    sum         double precision NOT NULL DEFAULT 0,
    min         double precision,
    max         double precision,
    hll         bytea,
    revision    integer NOT NULL DEFAULT 0,
    closed      boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, metric, bucket, dims)
) PARTITION BY RANGE (bucket);

-- Same storage class as the other rollups (hot rows updated in place: fillfactor 70 for HOT
-- updates, autovacuum at 2 %). One partition per UTC day; 90 days like rollups_hourly so
-- local-day series are exact over the same horizon as hourly ones.
INSERT INTO partition_classes (parent, granularity, retention_days, premake, storage)
VALUES ('rollups_15m', 'day', 90, 3,
        'fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02');

-- Open rows only: rows leave this index when they close, so it stays as small as the set of
-- buckets inside the allowed lateness. `closed` in the predicate does not stop HOT updates of
-- cnt/sum (they do not change it).
CREATE INDEX rollups_15m_open ON rollups_15m (bucket) WHERE NOT closed;
CREATE INDEX rollups_hourly_open ON rollups_hourly (bucket) WHERE NOT closed;
CREATE INDEX rollups_daily_open ON rollups_daily (bucket) WHERE NOT closed;

ALTER TABLE consumer_offsets ADD COLUMN watermark timestamptz;

-- Partitions that already exist for the new class (the worker and `migrate` keep them ahead).
SELECT ea_partition_ensure('rollups_15m', now() - interval '8 days', now() + interval '3 days');

-- The advisory lock key guarding read-merge-write of a rollup row's HyperLogLog sketch for one
-- (tenant, metric). Writers take it with pg_advisory_xact_lock before touching hll, in
-- ascending key order (deadlock-free), then SELECT, merge in C (lib/hll) and upsert.
CREATE FUNCTION ea_rollup_lock_key(p_tenant text, p_metric text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT hashtextextended(p_tenant || '/' || p_metric, 4242)
$$;

-- 5. The cardinality-cap registry: which values of a dimension were admitted (kept their own
-- rows) per (tenant, metric, UTC day). At most cardinality_cap rows per (tenant, metric, day,
-- dim); values past the cap are folded into "__other__" and never appear here. A worker admits
-- new values only while holding pg_advisory_xact_lock(ea_rollup_lock_key(tenant, metric)) and
-- after re-reading these rows, so the cap is exact with any number of workers. The cap is per
-- UTC day so the same values keep their rows in the day's 15-minute and hourly buckets too
-- (hourly rows still add up to the daily row, dimension by dimension). Rows older than the max
-- lateness are deleted by the worker's maintenance pass.
CREATE TABLE rollup_dim_values (
    tenant_id  text NOT NULL,
    metric     text NOT NULL,
    day        date NOT NULL,
    dim        text NOT NULL,
    value      text NOT NULL, -- the value as canonical JSON text, e.g. "\"/pricing\"" or 42
    PRIMARY KEY (tenant_id, metric, day, dim, value)
);

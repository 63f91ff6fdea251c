-- 0016_rollup_totals.sql — one total row per (tenant, metric, bucket) beside the per-dimension
-- rollup rows, so an ungrouped, unfiltered series reads one row per bucket (issue 14: "30 days
-- hourly of one metric" read 144,000 rows of rollups_hourly to answer 720 points; the reasons and
-- the alternatives are in docs/ARCHITECTURE.md, "Bucket totals").
--
-- Invariant, kept in the same transaction as the rollup rows by every writer (lib/rollup
-- ea_rollup_write.c: the worker's ADD and spill, REPLACE for recounts and backfills; lib/catalog
-- moves, copies and deletes them with the metric's rows):
--   for every (tenant_id, metric, bucket) that has rows in rollups_hourly (rollups_daily) there is
--   exactly one row in rollup_totals_hourly (rollup_totals_daily), and no other, with
--   cnt = Σ cnt, sum = Σ sum, min = min(min), max = max(max), revision = max(revision)
--   of those rows.
-- There is no sketch (unique metrics merge HyperLogLog sketches in C, so their series keep reading
-- the per-dimension rows) and no `closed` flag: whether a bucket is final is whether any of its
-- rollup rows is still open, which the reader asks the small partial index rollups_*_open
-- (0002) for in the same statement; a copy of the flag here could not follow the closer and a
-- late row of a stale watermark in the same snapshot without reading every row of the bucket.
-- No 15-minute totals: only the UTC hourly and daily readers use totals.
--
-- Storage: partitioned like their rollups (hourly by day, daily by month), registered in
-- partition_classes so ea_partitions_maintain() creates and drops them; their retention and
-- premake follow their rollups' class (trigger below): set the rollups' and the totals follow.
-- Rows are updated in place by every batch (the hot total of the current hour), so fillfactor 70
-- and autovacuum at 2 % as for the rollups.

CREATE TABLE rollup_totals_hourly (
    tenant_id  text NOT NULL,
    metric     text NOT NULL,
    bucket     timestamptz NOT NULL,
    cnt        bigint NOT NULL,
    sum        numeric NOT NULL,
    min        numeric,
    max        numeric,
    revision   integer NOT NULL,
    PRIMARY KEY (tenant_id, metric, bucket)
) PARTITION BY RANGE (bucket);

CREATE TABLE rollup_totals_daily (
    tenant_id  text NOT NULL,
    metric     text NOT NULL,
    bucket     timestamptz NOT NULL,
    cnt        bigint NOT NULL,
    sum        numeric NOT NULL,
    min        numeric,
    max        numeric,
    revision   integer NOT NULL,
    PRIMARY KEY (tenant_id, metric, bucket)
) PARTITION BY RANGE (bucket);

INSERT INTO partition_classes (parent, granularity, retention_days, premake, storage)
SELECT 'rollup_totals_' || substr(parent, 9), granularity, retention_days, premake, storage
FROM partition_classes WHERE parent IN ('rollups_hourly', 'rollups_daily');

-- The totals' retention is their rollups' retention: a change of the rollups' class row is
-- copied to the totals' row (partition_classes is data, changed with SQL; docs/ARCHITECTURE.md
-- "Partitions").
CREATE FUNCTION ea_rollup_totals_class_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE partition_classes
    SET retention_days = NEW.retention_days, premake = NEW.premake, storage = NEW.storage
    WHERE parent = 'rollup_totals_' || substr(NEW.parent, 9);
    RETURN NULL;
END
$$;
CREATE TRIGGER partition_classes_totals_sync
AFTER UPDATE OF retention_days, premake, storage ON partition_classes
FOR EACH ROW WHEN (NEW.parent IN ('rollups_hourly', 'rollups_daily'))
EXECUTE FUNCTION ea_rollup_totals_class_sync();

-- Fill from the rows that exist. Writers are held off meanwhile (SHARE: reads go on), so no
-- batch commits rollup rows between the fill and the end of this migration. A worker built
-- before this migration does not write totals: stop the workers, migrate, start the new ones
-- (scripts/stack.sh and docker compose run migrate before the services start).
LOCK TABLE rollups_hourly, rollups_daily IN SHARE MODE;
SELECT ea_partition_ensure('rollup_totals_hourly', min(bucket), max(bucket)) FROM rollups_hourly;
SELECT ea_partition_ensure('rollup_totals_daily', min(bucket), max(bucket)) FROM rollups_daily;
SELECT ea_partition_ensure('rollup_totals_hourly', now() - interval '8 days', now() + interval '3 days');
SELECT ea_partition_ensure('rollup_totals_daily', now() - interval '8 days', now() + interval '2 months');
INSERT INTO rollup_totals_hourly (tenant_id, metric, bucket, cnt, sum, min, max, revision)
SELECT tenant_id, metric, bucket, sum(cnt), sum(sum), min(min), max(max), max(revision)
FROM rollups_hourly GROUP BY 1, 2, 3;
INSERT INTO rollup_totals_daily (tenant_id, metric, bucket, cnt, sum, min, max, revision)
SELECT tenant_id, metric, bucket, sum(cnt), sum(sum), min(min), max(max), max(revision)
FROM rollups_daily GROUP BY 1, 2, 3;

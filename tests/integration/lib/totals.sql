-- tests/integration/lib/totals.sql — migration 0016's invariant, checked against the rows: prints
-- "<buckets whose total differs from its rollup rows, or that has one without the other> <total
-- rows>". Every bucket of rollups_hourly / rollups_daily must have exactly one row in
-- rollup_totals_hourly / _daily with Σcnt, Σsum, min(min), max(max) and max(revision) of its rows,
-- and no total may exist without rows. Used by the worker, backfill and chaos tests and by
-- graphql_totals.test.mjs (a check that fails when a writer forgets the totals).
WITH r AS (
    SELECT 'H' AS g, tenant_id, metric, bucket, sum(cnt)::int8 AS c, sum(sum) AS s, min(min) AS mn,
           max(max) AS mx, max(revision) AS rv
    FROM rollups_hourly GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT 'D', tenant_id, metric, bucket, sum(cnt)::int8, sum(sum), min(min), max(max), max(revision)
    FROM rollups_daily GROUP BY 1, 2, 3, 4),
t AS (
    SELECT 'H' AS g, tenant_id, metric, bucket, cnt AS c, sum AS s, min AS mn, max AS mx,
           revision AS rv
    FROM rollup_totals_hourly
    UNION ALL
    SELECT 'D', tenant_id, metric, bucket, cnt, sum, min, max, revision FROM rollup_totals_daily)
SELECT (SELECT count(*) FROM r FULL JOIN t USING (g, tenant_id, metric, bucket)
        WHERE (r.c, r.s, r.mn, r.mx, r.rv) IS DISTINCT FROM (t.c, t.s, t.mn, t.mx, t.rv))
       || ' ' || (SELECT count(*) FROM t);

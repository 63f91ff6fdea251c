-- 0014_exact_decimals.sql — values are exact decimals (issue 13): the sum, min and max of a
-- rollup row are numeric, so 9.99 stays 9.99 and a sum of prices equals their decimal sum (the
-- worker adds exact decimals in memory, lib/rollup/ea_rollup_dec.c, and sends numeric text).
-- Why numeric rather than scaled integers: a per-metric scale would have to be chosen when the
-- metric is defined and would round (or refuse) values with more decimals than it; numeric keeps
-- what was sent, up to the 18 significant digits the worker keeps per value, whatever the
-- metric. Its cost, measured for the worker's upserts: docs/ARCHITECTURE.md ("Exact decimals").
-- Existing rows convert exactly (every double is a finite decimal).

ALTER TABLE rollups_15m ALTER COLUMN sum TYPE numeric, ALTER COLUMN min TYPE numeric,
    ALTER COLUMN max TYPE numeric;
ALTER TABLE rollups_hourly ALTER COLUMN sum TYPE numeric, ALTER COLUMN min TYPE numeric,
    ALTER COLUMN max TYPE numeric;
ALTER TABLE rollups_daily ALTER COLUMN sum TYPE numeric, ALTER COLUMN min TYPE numeric,
    ALTER COLUMN max TYPE numeric;

-- ea_metric_series (0006, 0009) returns the numeric sums: its result type changes, so it is
-- dropped and created again; the body is 0009's with sum, min and max kept numeric.
DROP FUNCTION ea_metric_series(text, text, timestamptz, timestamptz, text, text, text[], jsonb);

CREATE FUNCTION ea_metric_series(p_tenant text, p_metric text, from_t timestamptz,
                                 to_t timestamptz, granularity text, tz text,
                                 group_by text[] DEFAULT '{}', filter jsonb DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, dims jsonb, cnt bigint, sum numeric, min numeric,
               max numeric, hlls bytea[], revision integer, final boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    gran text := upper(coalesce(granularity, ''));
    defdims text[];
    k text;
    lo timestamptz;
    hi timestamptz;
    src text;
    aligned_day boolean;
    aligned_hour boolean;
    aligned_q boolean;
    keep_days integer;
    wm timestamptz;
BEGIN
    IF p_tenant IS NULL OR p_metric IS NULL OR from_t IS NULL OR to_t IS NULL THEN
        RAISE EXCEPTION 'could not compute metric series: tenant, metric, from and to are required'
            USING ERRCODE = '22004';
    END IF;
    IF gran NOT IN ('HOUR', 'DAY') THEN
        RAISE EXCEPTION 'could not compute metric series: granularity "%" is not HOUR or DAY',
            granularity USING ERRCODE = '22023';
    END IF;
    IF from_t > to_t THEN
        RAISE EXCEPTION 'could not compute metric series: from (%) is after to (%)', from_t, to_t
            USING ERRCODE = '22023';
    END IF;
    -- IANA names only: POSIX strings such as 'UTC+5' mean UTC−5 in PostgreSQL, a trap.
    -- (pg_timezone_names would be the exact list but costs ~200 ms per call.)
    IF tz IS NULL OR tz !~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$'
       OR (tz ~ '[+-][0-9]' AND tz !~ '^Etc/GMT[+-][0-9]{1,2}$') THEN
        RAISE EXCEPTION 'could not compute metric series: time zone "%" is not an IANA zone name',
            tz USING ERRCODE = '22023', HINT = 'use a name such as Asia/Kolkata or UTC';
    END IF;
    BEGIN
        PERFORM now() AT TIME ZONE tz;
    EXCEPTION WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'could not compute metric series: unknown time zone "%"', tz
            USING ERRCODE = '22023', HINT = 'use a name such as Asia/Kolkata or UTC';
    END;

    -- group_by and filter keys must be dimensions of the metric (automatic count metrics
    -- have none): a typo must not silently group everything under null.
    SELECT d.dimensions INTO defdims FROM metric_definitions d
    WHERE d.tenant_id = p_tenant AND d.name = p_metric;
    defdims := coalesce(defdims, '{}');
    FOREACH k IN ARRAY coalesce(group_by, '{}') LOOP
        IF k IS NULL OR NOT k = ANY (defdims) THEN
            RAISE EXCEPTION 'could not compute metric series: "%" is not a dimension of metric "%"',
                k, p_metric USING ERRCODE = '22023',
                HINT = format('its dimensions: %s', coalesce(nullif(array_to_string(defdims, ', '), ''), 'none'));
        END IF;
    END LOOP;
    IF filter IS NOT NULL THEN
        IF jsonb_typeof(filter) <> 'object' THEN
            RAISE EXCEPTION 'could not compute metric series: filter must be a JSON object of dimension values'
                USING ERRCODE = '22023';
        END IF;
        FOR k IN SELECT jsonb_object_keys(filter) LOOP
            IF NOT k = ANY (defdims) THEN
                RAISE EXCEPTION 'could not compute metric series: filter key "%" is not a dimension of metric "%"',
                    k, p_metric USING ERRCODE = '22023',
                    HINT = format('its dimensions: %s', coalesce(nullif(array_to_string(defdims, ', '), ''), 'none'));
            END IF;
        END LOOP;
    END IF;

    -- 1. the bucket bounds, and which table's rows fit inside them
    IF gran = 'DAY' THEN
        lo := ea_local_bucket(from_t, 'DAY', tz);
        hi := (((to_t AT TIME ZONE tz)::date + 1)::timestamp) AT TIME ZONE tz;
        SELECT bool_and(e % 86400 = 0), bool_and(e % 3600 = 0), bool_and(e % 900 = 0)
        INTO aligned_day, aligned_hour, aligned_q
        FROM (SELECT extract(epoch FROM (d::date::timestamp AT TIME ZONE tz))::bigint AS e
              FROM generate_series((from_t AT TIME ZONE tz)::date,
                                   (to_t AT TIME ZONE tz)::date + 1, interval '1 day') d) s;
    ELSE
        lo := to_timestamp(floor(extract(epoch FROM from_t) / 900) * 900);
        hi := to_timestamp(floor(extract(epoch FROM to_t) / 900) * 900) + interval '2 hours';
        -- local hour starts are the quarter hours where the local minute is 0
        SELECT bool_and(extract(epoch FROM b)::bigint % 3600 = 0), true
        INTO aligned_hour, aligned_q
        FROM generate_series(lo - interval '1 hour', hi, interval '15 minutes') b
        WHERE extract(minute FROM b AT TIME ZONE tz) = 0;
        IF aligned_hour IS NULL THEN
            aligned_q := false; -- no local hour starts on a quarter hour at all
        END IF;
        aligned_day := false;
        lo := ea_local_bucket(lo, 'HOUR', tz);
    END IF;
    IF NOT coalesce(aligned_q, false) THEN
        RAISE EXCEPTION 'could not compute metric series: time zone "%" has offsets that are not whole quarter hours between % and %',
            tz, from_t, to_t USING ERRCODE = '22023';
    END IF;
    src := CASE WHEN aligned_day THEN 'rollups_daily'
                WHEN aligned_hour THEN 'rollups_hourly' ELSE 'rollups_15m' END;

    -- past retention the rows are dropped: refuse rather than return a partial number
    SELECT c.retention_days INTO keep_days FROM partition_classes c WHERE c.parent = src;
    IF keep_days IS NOT NULL AND lo < now() - make_interval(days => keep_days) THEN
        RAISE EXCEPTION 'could not compute metric series: % need % (kept % days), and % is older',
            CASE WHEN gran = 'DAY' THEN format('local days in %s', tz) ELSE format('hours in %s', tz) END,
            src, keep_days, from_t
            USING ERRCODE = '22023', HINT = 'query a shorter range, or UTC days';
    END IF;

    -- the group watermark of the consumer group furthest along (normally there is one group)
    wm := ea_group_watermark();

    -- 2-3. read, map to local buckets, add
    RETURN QUERY EXECUTE format($q$
        WITH m AS (
            SELECT ea_local_bucket(r.bucket, $5, $6) AS t,
                   (SELECT coalesce(jsonb_object_agg(g, coalesce(r.dims -> g, 'null'::jsonb)), '{}'::jsonb)
                    FROM unnest($8::text[]) g) AS pd,
                   r.cnt, r.sum, r.min, r.max, r.hll, r.revision, r.closed
            FROM %I r
            WHERE r.tenant_id = $1 AND r.metric = $2 AND r.bucket >= $3 AND r.bucket < $4
              AND ($9::jsonb IS NULL OR ea_dims_match(r.dims, $9)))
        SELECT m.t, m.pd, sum(m.cnt)::bigint, sum(m.sum), min(m.min), max(m.max),
               array_agg(m.hll) FILTER (WHERE m.hll IS NOT NULL), max(m.revision)::int,
               bool_and(m.closed) AND $10::timestamptz IS NOT NULL
                   AND CASE WHEN $5 = 'DAY'
                            THEN (((m.t AT TIME ZONE $6)::date + 1)::timestamp AT TIME ZONE $6)
                            ELSE m.t + interval '1 hour' END <= $10
        FROM m WHERE m.t <= $7
        GROUP BY m.t, m.pd ORDER BY m.t, m.pd::text$q$, src)
    USING p_tenant, p_metric, lo, hi, gran, tz, to_t, coalesce(group_by, '{}'), filter, wm;
END
$$;


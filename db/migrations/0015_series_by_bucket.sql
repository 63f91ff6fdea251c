-- 0015_series_by_bucket.sql — what graphql-api needs to read a series bucket by bucket (its cache
-- keeps closed buckets and fetches only the ranges it lacks) and to answer breakdowns by any
-- property from raw events (issue 14). Read-only functions: nothing here writes rows.
--
-- The same rules exist in C for the worker (lib/rollup); these are their SQL form for readers that
-- aggregate in PostgreSQL, and tests/integration/graphql_breakdown.test.mjs checks the raw path
-- against the rollup path on declared dimensions (equal numbers mean equal rules):
--   ea_dim_value        = lib/rollup ea_rollup_dims_value_json (a dimension's canonical value)
--   ea_property_number  = lib/rollup ea_rollup_property_number (which values count as numbers)

-- The canonical value of a property used as a dimension or a unique value: missing/null -> null,
-- strings and booleans as they are, numbers without trailing zeros (1.0 = 1), objects and arrays
-- -> a JSON string of their text. (PostgreSQL prints objects with spaces and its own key order,
-- the worker compactly with sorted keys: an object-valued dimension groups alike on each path but
-- is labelled differently.)
CREATE FUNCTION ea_dim_value(v jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'string' THEN v
        WHEN 'boolean' THEN v
        WHEN 'number' THEN to_jsonb(trim_scale(v::numeric))
        WHEN 'object' THEN to_jsonb(v::text)
        WHEN 'array' THEN to_jsonb(v::text)
        ELSE 'null'::jsonb END
$$;

-- A property's number (lib/rollup ea_rollup_property_number, ea_dec_parse): a JSON number, or a
-- string holding a decimal number ([+-] digits [. digits] [(e|E) [+-] digits], at least one digit;
-- no spaces, hex, inf or nan). NULL otherwise: the event then does not contribute to
-- sum/min/max/avg (avg = sum / cnt stays the mean of the values present). Where the two differ
-- (not worth a rule of their own): C rounds past 18 significant digits and takes exponents up to
-- ±1000, this keeps every digit and takes up to ±999.
CREATE FUNCTION ea_property_number(v jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'number' THEN v::numeric
        WHEN 'string' THEN CASE
            WHEN (v #>> '{}') ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$'
            THEN (v #>> '{}')::numeric END
        END
$$;

-- The end (exclusive) of the local bucket that starts at b (ea_local_bucket's buckets): the next
-- local midnight for DAY, one hour later for HOUR.
CREATE FUNCTION ea_series_bucket_end(b timestamptz, granularity text, tz text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE granularity
        WHEN 'DAY' THEN (((b AT TIME ZONE tz)::date + 1)::timestamp AT TIME ZONE tz)
        ELSE b + interval '1 hour' END
$$;

-- The local bucket holding any instant t (ea_local_bucket wants a quarter hour).
CREATE FUNCTION ea_series_bucket(t timestamptz, granularity text, tz text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ea_local_bucket(to_timestamp(floor(extract(epoch FROM t) / 900) * 900), granularity, tz)
$$;

-- The bounds a read of [from_t, to_t] covers — from the start of the bucket holding from_t to the
-- end of the bucket holding to_t — and the start of the bucket holding the watermark wm (every
-- bucket before it is closed; NULL without a watermark).
CREATE FUNCTION ea_series_bounds(from_t timestamptz, to_t timestamptz, granularity text, tz text,
                                 wm timestamptz)
RETURNS TABLE (lo timestamptz, hi timestamptz, closed_until timestamptz)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ea_series_bucket(from_t, granularity, tz),
           ea_series_bucket_end(ea_series_bucket(to_t, granularity, tz), granularity, tz),
           ea_series_bucket(wm, granularity, tz)
$$;

-- A time zone a series may be computed in: an IANA name PostgreSQL knows. POSIX-style strings
-- ('UTC+5' means UTC−5 in PostgreSQL) are refused, as ea_metric_series refuses them.
CREATE FUNCTION ea_tz_check(tz text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
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
    RETURN true;
END
$$;

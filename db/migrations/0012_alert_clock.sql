-- 0012_alert_clock.sql — alerts evaluated by the clock, not only by rows (SPEC §8, issue 15): a
-- bucket without any event counts as 0 for count and sum, so "below N" and "= 0" fire when
-- traffic stops; daily (and hourly) buckets in the alert's time zone.
--
-- Why: the closer evaluated alerts on the rollup rows it closed, and a bucket with no event has
-- no row, so it never closed and "traffic dropped to zero" could not fire; and its DAY buckets
-- were UTC days. Now services/worker/alertclock.c walks, per enabled alert, the buckets the
-- group watermark has passed since alerts.evaluated_until, in the alert's zone, and sums the
-- 15-minute rollups of each (exact for every zone offset, which are multiples of 15 minutes).
-- evaluated_until NULL means "from the bucket holding updated_at": a new, edited or resumed
-- alert does not fire for buckets before it existed in that form.

ALTER TABLE alerts ADD COLUMN evaluated_until timestamptz;

-- The bucket of an alert holding instant t: the local hour or day in tz.
CREATE FUNCTION ea_alert_bucket_floor(p_gran text, p_tz text, t timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT CASE p_gran
        WHEN 'DAY' THEN ((t AT TIME ZONE p_tz)::date)::timestamp AT TIME ZONE p_tz
        ELSE date_trunc('hour', t AT TIME ZONE p_tz) AT TIME ZONE p_tz END
$$;

-- The whole buckets [s, e) of an alert from from_t (a bucket start) that end at or before w,
-- at most max_n, oldest first. Days step by local date (23- and 25-hour days), hours by one
-- hour of real time.
CREATE FUNCTION ea_alert_buckets(p_gran text, p_tz text, from_t timestamptz, w timestamptz,
                                 max_n integer)
RETURNS TABLE (s timestamptz, e timestamptz) LANGUAGE sql STABLE AS $$
    SELECT b.s, b.e FROM (
        SELECT h AS s, h + interval '1 hour' AS e
        FROM generate_series(from_t, w - interval '1 hour', interval '1 hour') h
        WHERE p_gran = 'HOUR'
        UNION ALL
        SELECT d AT TIME ZONE p_tz, (d + interval '1 day') AT TIME ZONE p_tz
        -- timestamp (local wall clock) arguments: the date variant would be cast to timestamptz
        -- in the session's zone
        FROM generate_series(((from_t AT TIME ZONE p_tz)::date)::timestamp,
                             ((w AT TIME ZONE p_tz)::date)::timestamp, interval '1 day') g(d)
        WHERE p_gran = 'DAY') b
    WHERE b.s >= from_t AND b.e <= w
    ORDER BY b.s
    LIMIT max_n
$$;

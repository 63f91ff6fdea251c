-- 0013_metric_recompute.sql — defining or changing a metric recomputes its rollups from raw
-- events over the whole raw retention, in the background (issue 13): one job row per request,
-- run by one worker at a time (services/worker/recompute.c, lib/rollup's backfill of a day),
-- its progress readable by GraphQL (MetricDefinition.backfill) through
-- ea_metric_recompute_state().
--
-- A job covers whole UTC days [from_day, to_day): from the oldest day raw_events still holds
-- whole (the day the retention cuts into is partly gone: recomputing it would lower its totals,
-- so it is left as it is) to today. Each day is one transaction (REPEATABLE READ, the metric's
-- lock held exclusively, so live batches of that metric wait for it and add on top), and the
-- job's next_day moves past it after its commit: a worker killed mid-job redoes at most one day,
-- which writes nothing the second time. A newer request for the same metric supersedes the
-- older job (its remaining days would be recomputed by the new one anyway).

CREATE TABLE metric_recompute_jobs (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    metric      text NOT NULL,
    state       text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'running', 'done', 'failed', 'superseded')),
    from_day    date NOT NULL,
    to_day      date NOT NULL CHECK (to_day >= from_day),
    next_day    date NOT NULL,
    days_total  integer NOT NULL CHECK (days_total >= 0),
    days_done   integer NOT NULL DEFAULT 0,
    events      bigint NOT NULL DEFAULT 0,  -- raw events read so far
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- the runner's queue (few rows: unfinished jobs only) and the state lookup per metric
CREATE INDEX metric_recompute_jobs_open ON metric_recompute_jobs (id)
    WHERE state IN ('pending', 'running');
CREATE INDEX metric_recompute_jobs_metric ON metric_recompute_jobs (tenant_id, metric, id DESC);

-- Enqueues the recomputation of p_tenant's metric p_metric (called by lib/catalog inside the
-- transaction that defines or changes the definition, so the job exists exactly when the
-- definition does). Returns the job's id.
CREATE FUNCTION ea_metric_recompute_enqueue(p_tenant text, p_metric text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    keep integer;
    lo date;
    hi date := (now() AT TIME ZONE 'UTC')::date + 1;
    job bigint;
BEGIN
    UPDATE metric_recompute_jobs SET state = 'superseded', finished_at = now(), updated_at = now()
    WHERE tenant_id = p_tenant AND metric = p_metric AND state IN ('pending', 'running');
    SELECT retention_days INTO keep FROM partition_classes WHERE parent = 'raw_events';
    lo := hi - coalesce(keep, 30);  -- the oldest whole day raw_events holds
    INSERT INTO metric_recompute_jobs (tenant_id, metric, from_day, to_day, next_day, days_total)
    VALUES (p_tenant, p_metric, lo, hi, lo, hi - lo)
    RETURNING id INTO job;
    RETURN job;
END
$$;

-- The latest job of a metric, for GraphQL: state (pending|running|done|failed|superseded; NULL
-- row when the metric never had one), progress 0..1 (days done / days), the figures and error.
CREATE FUNCTION ea_metric_recompute_state(p_tenant text, p_metric text)
RETURNS TABLE (state text, progress double precision, days_done integer, days_total integer,
               events bigint, error text, updated_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT j.state,
           CASE WHEN j.state = 'done' OR j.days_total = 0 THEN 1.0
                ELSE least(1.0, j.days_done::float8 / j.days_total) END,
           j.days_done, j.days_total, j.events, j.error, j.updated_at
    FROM metric_recompute_jobs j
    WHERE j.tenant_id = p_tenant AND j.metric = p_metric
    ORDER BY j.id DESC LIMIT 1
$$;

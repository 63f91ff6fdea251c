-- 0001_init.sql — first schema: tenants, API keys, metric definitions, raw events by day,
-- hourly and daily rollups, dedup keys, consumer offsets, dead letters.
--
-- Partitioning: declarative RANGE partitions, never a DEFAULT partition (a DEFAULT partition
-- holding late rows makes creating the next partition scan and lock it; pg_partman's known
-- failure). Partitions are created ahead by ea_partitions_ensure() (called by the worker and by
-- `analytics-admin migrate`), dropped past retention. Raw events and hourly rollups: one
-- partition per UTC day; daily rollups: one partition per month.
-- Indexes lead with (tenant_id, metric, time), the shape of every query the API runs.
-- Forward only: never edit a migration that has shipped; add a new one.

CREATE TABLE tenants (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- API keys: "ak_" || key_id || "_" || secret is shown once; only bcrypt(secret) is stored.
CREATE TABLE api_keys (
    key_id       text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    secret_hash  text NOT NULL,                     -- libcrypt "$2b$" bcrypt
    scopes       text[] NOT NULL CHECK (scopes <@ ARRAY['ingest','read','admin']::text[]),
    rate_limit   integer CHECK (rate_limit IS NULL OR rate_limit > 0), -- requests/minute; NULL = global default
    name         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE metric_definitions (
    tenant_id        text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    event_name       text NOT NULL,
    aggregation      text NOT NULL CHECK (aggregation IN ('count','sum','min','max','avg','unique')),
    property         text,
    dimensions       text[] NOT NULL DEFAULT '{}' CHECK (cardinality(dimensions) <= 8),
    cardinality_cap  integer NOT NULL DEFAULT 1000 CHECK (cardinality_cap > 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name),
    CHECK (aggregation = 'count' OR property IS NOT NULL)
);
CREATE INDEX metric_definitions_event ON metric_definitions (tenant_id, event_name);

-- Raw events, one partition per UTC day of event_time. Insert-only and dropped whole past
-- retention, so fillfactor 100 and autovacuum only for anti-wraparound/visibility: analyze more
-- often than the default so fresh partitions get statistics quickly.
CREATE TABLE raw_events (
    tenant_id        text NOT NULL,
    event_id         text NOT NULL,
    event_name       text NOT NULL,
    event_time       timestamptz NOT NULL,
    received_at      timestamptz NOT NULL,
    properties       jsonb NOT NULL,
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL
) PARTITION BY RANGE (event_time);

-- Rollups. One row per (tenant, metric, bucket start, dimension values). Rows are updated in
-- place on every batch touching them (the hot rows of the current hour), so fillfactor 70 leaves
-- room for HOT updates and autovacuum runs at 2% dead tuples instead of 20%.
-- value columns: cnt (events), sum/min/max of the property; avg = sum/cnt; unique uses hll.
-- revision: bumped whenever a closed (behind the watermark) bucket is restated by a late event.
CREATE TABLE rollups_hourly (
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

CREATE TABLE rollups_daily (
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

-- Idempotency keys: (tenant, event_id) seen within the dedup window. Checked and inserted in the
-- same transaction as the rollup rows, so a crash can never record the key without the counts.
CREATE TABLE event_dedup (
    tenant_id  text NOT NULL,
    event_id   text NOT NULL,
    seen_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_id)
) WITH (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.02);
CREATE INDEX event_dedup_seen ON event_dedup (seen_at);

-- Kafka offsets of the worker's consumer group, written in the same transaction as the rows
-- of the batch they end (exactly-once, see services/worker/sink.c). generation fences a stale
-- consumer: a commit only succeeds if the stored generation is not newer than the writer's.
CREATE TABLE consumer_offsets (
    group_id     text NOT NULL,
    topic        text NOT NULL,
    partition    integer NOT NULL,
    next_offset  bigint NOT NULL,
    generation   bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

-- Events the worker could not count, with the reason and where they came from in Kafka.
CREATE TABLE dead_letters (
    id               bigserial PRIMARY KEY,
    tenant_id        text,
    event_id         text,
    reason           text NOT NULL,
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL,
    payload          text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_tenant ON dead_letters (tenant_id, created_at);

-- Partition bookkeeping: table class → granularity and retention. Retention is configurable
-- per class (UPDATE this table or use `analytics-admin partitions`).
CREATE TABLE partition_classes (
    parent          text PRIMARY KEY,
    granularity     text NOT NULL CHECK (granularity IN ('day','month')),
    retention_days  integer NOT NULL CHECK (retention_days > 0),
    premake         integer NOT NULL DEFAULT 3 CHECK (premake >= 1)
);
INSERT INTO partition_classes VALUES
    ('raw_events',     'day',   30,  3),
    ('rollups_hourly', 'day',   90,  3),
    ('rollups_daily',  'month', 730, 2);

-- Storage parameters per class, applied to each partition when it is created (PostgreSQL 15
-- does not accept storage parameters on a partitioned parent).
ALTER TABLE partition_classes ADD COLUMN storage text NOT NULL DEFAULT '';
UPDATE partition_classes SET storage = 'fillfactor = 100, autovacuum_analyze_scale_factor = 0.05'
    WHERE parent = 'raw_events';
UPDATE partition_classes SET storage = 'fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02'
    WHERE parent IN ('rollups_hourly', 'rollups_daily');

-- ea_partition_name: the partition of `parent` that holds time t.
CREATE FUNCTION ea_partition_name(parent text, granularity text, t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT parent || '_p' || CASE granularity
        WHEN 'day' THEN to_char(t AT TIME ZONE 'UTC', 'YYYYMMDD')
        ELSE to_char(t AT TIME ZONE 'UTC', 'YYYYMM') END
$$;

-- ea_partition_ensure: creates the partitions of `parent` covering [from_t, to_t] that do not
-- exist yet. Runs under a short lock_timeout: creating a partition takes a lock on the parent,
-- and we would rather retry later than queue behind (and in front of) the ingest writers.
-- Returns how many partitions it created.
CREATE FUNCTION ea_partition_ensure(p_parent text, from_t timestamptz, to_t timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    c partition_classes%ROWTYPE;
    step interval;
    t timestamptz;
    lo timestamptz;
    pname text;
    made integer := 0;
BEGIN
    SELECT * INTO c FROM partition_classes WHERE parent = p_parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown partitioned table %', p_parent;
    END IF;
    step := CASE c.granularity WHEN 'day' THEN interval '1 day' ELSE interval '1 month' END;
    t := date_trunc(c.granularity, from_t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    PERFORM set_config('lock_timeout', '2s', true);
    WHILE t <= to_t LOOP
        lo := t;
        pname := ea_partition_name(c.parent, c.granularity, lo);
        IF to_regclass(pname) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)%s',
                           pname, c.parent, lo, lo + step,
                           CASE WHEN c.storage <> '' THEN ' WITH (' || c.storage || ')' ELSE '' END);
            made := made + 1;
        END IF;
        t := lo + step;
    END LOOP;
    RETURN made;
END
$$;

-- ea_partition_drop_expired: drops whole partitions whose upper bound is older than the class
-- retention. Dropping a partition is O(1) and leaves no dead tuples, unlike DELETE.
CREATE FUNCTION ea_partition_drop_expired(p_parent text, now_t timestamptz DEFAULT now())
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    c partition_classes%ROWTYPE;
    r record;
    dropped integer := 0;
    upper_bound timestamptz;
BEGIN
    SELECT * INTO c FROM partition_classes WHERE parent = p_parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown partitioned table %', p_parent;
    END IF;
    PERFORM set_config('lock_timeout', '2s', true);
    FOR r IN
        SELECT child.relname AS name,
               pg_get_expr(child.relpartbound, child.oid) AS bound
        FROM pg_inherits i
        JOIN pg_class child ON child.oid = i.inhrelid
        JOIN pg_class par ON par.oid = i.inhparent
        WHERE par.relname = c.parent
    LOOP
        upper_bound := substring(r.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
        IF upper_bound IS NOT NULL AND upper_bound <= now_t - make_interval(days => c.retention_days) THEN
            EXECUTE format('DROP TABLE %I', r.name);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END
$$;

-- ea_partitions_maintain: the whole maintenance pass for every class: partitions from
-- back_days ago (the maximum lateness an event may have) to premake periods ahead, then drops
-- past retention. Callers hold pg_advisory_lock so one worker does maintenance at a time.
CREATE FUNCTION ea_partitions_maintain(back_days integer DEFAULT 8, now_t timestamptz DEFAULT now())
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    c partition_classes%ROWTYPE;
    n integer := 0;
BEGIN
    FOR c IN SELECT * FROM partition_classes ORDER BY parent LOOP
        n := n + ea_partition_ensure(c.parent,
                 now_t - make_interval(days => LEAST(back_days, c.retention_days)),
                 now_t + CASE c.granularity WHEN 'day' THEN make_interval(days => c.premake)
                                            ELSE make_interval(months => c.premake) END);
        PERFORM ea_partition_drop_expired(c.parent, now_t);
    END LOOP;
    RETURN n;
END
$$;

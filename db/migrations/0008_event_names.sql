-- 0008_event_names.sql — the event names seen per tenant (issue 13, "one namespace of metric
-- names"; lib/catalog, docs/ARCHITECTURE.md "Metric names").
--
-- Why a table: a definition may not take the name of an event already seen for the tenant
-- (unless it is that event's count), and `metrics(name: ...)` answers NOT_FOUND for a name that
-- is neither a definition nor an event seen. Rollup rows cannot tell an automatic count from a
-- definition, and raw events expire; so the worker records every event name it counts, in the
-- batch transaction (INSERT .. ON CONFLICT DO NOTHING: a name already there costs one index
-- probe and writes nothing). Checked against it under the metric-names advisory lock
-- (lib/catalog EA_CATALOG_NAMES_LOCK_KEY: batches shared, definition changes exclusive), so a
-- definition and the first event of the same name can never both win.
-- No foreign key to tenants on purpose: a batch must never fail (and dead-letter events)
-- because of bookkeeping.
CREATE TABLE event_names (
    tenant_id   text NOT NULL,
    name        text NOT NULL,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);

-- Events seen before this migration: the raw events still kept, and the automatic counts in
-- the daily rollups (metric names that are not definitions). One pass over each table, once.
INSERT INTO event_names (tenant_id, name)
SELECT DISTINCT tenant_id, event_name FROM raw_events
UNION
SELECT DISTINCT r.tenant_id, r.metric FROM rollups_daily r
WHERE NOT EXISTS (SELECT 1 FROM metric_definitions d
                  WHERE d.tenant_id = r.tenant_id AND d.name = r.metric)
ON CONFLICT DO NOTHING;

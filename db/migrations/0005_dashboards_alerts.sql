-- 0005_dashboards_alerts.sql — what graphql-api's mutations save: dashboards and threshold
-- alerts (SPEC §6, §8). Both are tenant-owned rows addressed by (tenant_id, id); graphql-api
-- filters every statement by tenant_id, the foreign key removes them with their tenant.
--
-- Why jsonb for a dashboard's layout: the dashboard (web/) owns its chart shape (metric,
-- groupBy, granularity, timezone, time range); graphql-api checks the fields it relies on and
-- stores the rest as given. Alerts are columns because the worker evaluates them in SQL.
CREATE TABLE dashboards (
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id          bigserial,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    layout      jsonb NOT NULL CHECK (jsonb_typeof(layout) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE alerts (
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           bigserial,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    metric       text NOT NULL,
    filter       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(filter) = 'object'),
    comparator   text NOT NULL CHECK (comparator IN ('GT','GTE','LT','LTE','EQ','NEQ')),
    threshold    double precision NOT NULL,
    granularity  text NOT NULL CHECK (granularity IN ('HOUR','DAY')),
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- Fired alerts, written by the worker when a closed bucket crosses the threshold (SPEC §8);
-- graphql-api lists them and pushes alertFired from the ea:alerts channel.
CREATE TABLE alert_events (
    tenant_id  text NOT NULL,
    alert_id   bigint NOT NULL,
    bucket     timestamptz NOT NULL,
    dims       jsonb NOT NULL DEFAULT '{}',
    value      double precision NOT NULL,
    fired_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, alert_id, bucket, dims),
    FOREIGN KEY (tenant_id, alert_id) REFERENCES alerts(tenant_id, id) ON DELETE CASCADE
);

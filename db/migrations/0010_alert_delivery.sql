-- 0010_alert_delivery.sql — alerts that reach people (SPEC §8): a time zone for daily alerts, a
-- webhook per alert with its signing secret, and one delivery per firing, with its state, kept
-- in alert_events next to the firing it delivers.
--
-- Why the secret is stored in clear: the worker signs every delivery with it (HMAC-SHA256), so it
-- must be readable; it is shown to the user once (createAlert) and never listed or logged.
-- Why a trigger fills a firing's threshold, comparator and delivery state: the worker inserts
-- firings in the transaction that closes a bucket (services/worker), and whatever inserts one
-- (worker, tests, a future backfill) gets the same rule: the alert's condition at the time it
-- fired, and 'pending' when the alert has a webhook ('none' otherwise).
-- Why deliveries are polled from this table rather than queued elsewhere: the firing and its
-- pending delivery commit together, so a firing is delivered at least once even when the worker
-- dies right after the commit (services/worker/webhook.c claims due rows with a lease).

ALTER TABLE alerts
    ADD COLUMN timezone text NOT NULL DEFAULT 'UTC' CHECK (length(timezone) BETWEEN 1 AND 64),
    ADD COLUMN webhook_url text
        CHECK (webhook_url IS NULL OR (length(webhook_url) <= 2048 AND webhook_url ~ '^https?://')),
    ADD COLUMN webhook_secret text,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD CHECK (webhook_url IS NULL OR webhook_secret IS NOT NULL);

ALTER TABLE alert_events
    ADD COLUMN id bigserial,
    ADD COLUMN threshold double precision,
    ADD COLUMN comparator text,
    ADD COLUMN delivery text NOT NULL DEFAULT 'none'
        CHECK (delivery IN ('none', 'pending', 'delivered', 'failed')),
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN last_attempt_at timestamptz,
    ADD COLUMN last_status integer,
    ADD COLUMN last_error text,
    ADD COLUMN delivered_at timestamptz;
CREATE UNIQUE INDEX alert_events_id ON alert_events (id);
-- what the delivery thread polls: only pending rows are in this index
CREATE INDEX alert_events_due ON alert_events (next_attempt_at) WHERE delivery = 'pending';
-- Alert.history: newest firings of one alert
CREATE INDEX alert_events_history ON alert_events (tenant_id, alert_id, fired_at DESC);

CREATE FUNCTION ea_alert_event_defaults() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    a alerts%ROWTYPE;
BEGIN
    SELECT * INTO a FROM alerts WHERE tenant_id = NEW.tenant_id AND id = NEW.alert_id;
    IF FOUND THEN
        NEW.threshold := coalesce(NEW.threshold, a.threshold);
        NEW.comparator := coalesce(NEW.comparator, a.comparator);
        IF NEW.delivery = 'none' AND a.webhook_url IS NOT NULL THEN
            NEW.delivery := 'pending';
            NEW.next_attempt_at := coalesce(NEW.next_attempt_at, now());
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER alert_events_defaults BEFORE INSERT ON alert_events
    FOR EACH ROW EXECUTE FUNCTION ea_alert_event_defaults();

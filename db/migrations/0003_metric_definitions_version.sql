-- 0003_metric_definitions_version.sql — a version number for metric definitions.
--
-- Why: a definition must apply to every event ingested after the definition was committed,
-- not to "events processed after the worker's next periodic reload". The worker reads this
-- one-row table inside each batch transaction (a primary-key lookup) and reloads the
-- definitions when the number moved. The batch's transaction starts after its events were
-- consumed, and those were produced after the definition committed, so the definition is
-- always visible to it.
CREATE TABLE metric_definitions_version (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    version  bigint NOT NULL
);
INSERT INTO metric_definitions_version VALUES (true, 0);

CREATE FUNCTION ea_bump_metric_definitions_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE metric_definitions_version SET version = version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER metric_definitions_version_bump
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON metric_definitions
    FOR EACH STATEMENT EXECUTE FUNCTION ea_bump_metric_definitions_version();

-- 0007_api_key_origins.sql — browser keys (SPEC §4): a key with `origins` is a *browser* key,
-- accepted only with a matching Origin header, allowed to travel in a request body, and never
-- more than ingest-only. NULL origins: a secret key, as before. The origins are stored in the
-- normalized form lib/apikey/ea_origin.c writes (scheme://host[:port], lowercase), which is
-- exactly what browsers send, so matching is a byte comparison.
ALTER TABLE api_keys ADD COLUMN origins text[];

-- The one rule that makes a leaked browser key harmless to read or administer, also held by the
-- database (lib/catalog refuses first, with a clearer message).
ALTER TABLE api_keys ADD CONSTRAINT api_keys_browser_ingest_only CHECK (
    origins IS NULL
    OR (cardinality(origins) BETWEEN 1 AND 16 AND scopes = ARRAY['ingest']::text[]));

-- ingest-api's CORS preflight asks "is this origin listed on any live browser key?" (a
-- preflight carries no key); it refreshes that set in the background from this index.
CREATE INDEX api_keys_origins ON api_keys USING gin (origins) WHERE origins IS NOT NULL
    AND revoked_at IS NULL;

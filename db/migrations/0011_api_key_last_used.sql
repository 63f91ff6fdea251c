-- 0011_api_key_last_used.sql — when each API key was last used (the dashboard's key list, issue
-- 15). Written by lib/apikey's key verification on its pool threads after a key is proven
-- (bcrypt verify, or the cached key's refresh), at most once a minute per key and process: so
-- "last used" is exact to about a minute plus the key cache's refresh interval, and a busy key
-- costs one UPDATE a minute, not one per request.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;

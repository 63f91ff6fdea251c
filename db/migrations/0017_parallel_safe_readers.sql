-- 0017_parallel_safe_readers.sql — two read-only functions of 0006 declared PARALLEL SAFE, so that
-- statements using them may run with parallel workers (issue 14).
--
-- A function is PARALLEL UNSAFE unless it says otherwise, and one unsafe function anywhere in a
-- statement keeps PostgreSQL from planning any part of it in parallel. ea_dims_match is in every
-- raw-event breakdown (and every filtered rollup read), so a breakdown over a million raw events
-- was always scanned by one process. Both functions are pure SQL over their arguments (no
-- writes, no temporary tables, no session state), which is what PARALLEL SAFE requires; 0015's
-- functions already say so.
ALTER FUNCTION ea_dims_match(jsonb, jsonb) PARALLEL SAFE;
ALTER FUNCTION ea_local_bucket(timestamptz, text, text) PARALLEL SAFE;

-- auth_flood.lua — wrk script for bench/auth.bench.sh: the attacker of issue 12 item 1. Every
-- request presents a real key id with a fresh random secret (`ak_<FLOOD_KEY_ID>_<32 random hex>`),
-- so no cache on the server can answer it and, without a limit on failed attempts, each one costs a
-- key lookup and a bcrypt. done() prints what the server answered:
--   FLOOD requests=N duration_us=D s401=.. s429=.. s503=.. other=.. errors=..
-- Env: FLOOD_KEY_ID (12 lowercase hex), BENCH_PATH (/ingest).
local key_id = os.getenv("FLOOD_KEY_ID") or "000000000000"
local path = os.getenv("BENCH_PATH") or "/ingest"
local threads = {}
counts = {} -- global: done() reads it from each thread with thread:get

function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
end

function init(args)
    math.randomseed(os.time() + (tid or 0) * 7919)
    wrk.method = "POST"
    wrk.body = '{"event":"flood"}'
    counts = {s401 = 0, s429 = 0, s503 = 0, other = 0}
end

local hex = "0123456789abcdef"
local function secret()
    local t = {}
    for i = 1, 32 do
        local n = math.random(1, 16)
        t[i] = hex:sub(n, n)
    end
    return table.concat(t)
end

-- a complete request (the headers table replaces wrk.headers): a front door that refuses the
-- content type before it looks at the key would otherwise never verify anything
function request()
    return wrk.format(nil, path, {["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer ak_" .. key_id .. "_" .. secret()})
end

function response(status, headers, body)
    if status == 401 then
        counts.s401 = counts.s401 + 1
    elseif status == 429 then
        counts.s429 = counts.s429 + 1
    elseif status == 503 then
        counts.s503 = counts.s503 + 1
    else
        counts.other = counts.other + 1
    end
end

function done(summary, latency, requests)
    local t = {s401 = 0, s429 = 0, s503 = 0, other = 0}
    for _, th in ipairs(threads) do
        local c = th:get("counts") or {}
        for k, _ in pairs(t) do
            t[k] = t[k] + (c[k] or 0)
        end
    end
    local e = summary.errors
    io.write(string.format("FLOOD requests=%d duration_us=%d s401=%d s429=%d s503=%d other=%d errors=%d\n",
        summary.requests, summary.duration, t.s401, t.s429, t.s503, t.other,
        e.connect + e.read + e.write + e.timeout))
end

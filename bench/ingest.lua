-- ingest.lua — wrk script for the ingest benchmarks (bench/run.sh): POSTs one event or a batch of
-- BATCH events per request, every event with an event_id unique across threads and runs (a
-- random run prefix, the thread number and a per-thread counter), so Kafka gets no duplicate
-- keys. done() prints one machine-readable line that run.sh turns into a table row:
--   BENCH requests=N duration_us=D errors=E non2xx=S p50_us=.. p95_us=.. p99_us=.. max_us=..
-- Env (read by os.getenv in each wrk thread): BENCH_KEY (API key), BATCH (events per request,
-- default 1), BENCH_PATH (/ingest), BENCH_FORMAT (ingest, or segment: the same events as a
-- Segment /v1/batch body — type, messageId, properties — with the key as the Basic user).
local threads = {}
local counter = 0
local run_id = nil
local batch = tonumber(os.getenv("BATCH") or "1")
local key = os.getenv("BENCH_KEY") or ""
local path = os.getenv("BENCH_PATH") or "/ingest"
local format = os.getenv("BENCH_FORMAT") or "ingest"

-- base64 for the Basic header (wrk's LuaJIT has no library for it)
local function b64(s)
    local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return ((s:gsub(".", function(x)
        local r, b = "", x:byte()
        for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
        return r
    end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
        if #x < 6 then return "" end
        local c = 0
        for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
        return chars:sub(c + 1, c + 1)
    end) .. ({"", "==", "="})[#s % 3 + 1])
end

function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
end

function init(args)
    math.randomseed(os.time() + (tid or 0) * 7919)
    run_id = string.format("%08x%04x", math.random(0, 0x7fffffff), tid or 0)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    if format == "segment" then
        wrk.headers["Authorization"] = "Basic " .. b64(key .. ":")
    else
        wrk.headers["Authorization"] = "Bearer " .. key
    end
end

local function event()
    counter = counter + 1
    if format == "segment" then
        return '{"type":"track","event":"bench_view","messageId":"' .. run_id .. "-" .. counter ..
            '","properties":{"page":"/p/' .. (counter % 50) .. '","user":"u' .. (counter % 1000) ..
            '"}}'
    end
    return '{"event":"bench_view","event_id":"' .. run_id .. "-" .. counter ..
        '","page":"/p/' .. (counter % 50) .. '","user":"u' .. (counter % 1000) .. '"}'
end

function request()
    local body
    if format == "segment" then
        local parts = {}
        for i = 1, batch do
            parts[i] = event()
        end
        body = '{"batch":[' .. table.concat(parts, ",") .. ']}'
    elseif batch <= 1 then
        body = event()
    else
        local parts = {}
        for i = 1, batch do
            parts[i] = event()
        end
        body = "[" .. table.concat(parts, ",") .. "]"
    end
    return wrk.format(nil, path, nil, body)
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d errors=%d non2xx=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d\n",
        summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
        latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end

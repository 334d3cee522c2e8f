-- wrk script for POST /v1/listings: real listings from a JSONL file, each
-- request a new listing id (so every request is screened and recorded),
-- BATCH listings per request (1 = single). Environment: LISTINGS (file),
-- KEY (API key), BATCH (default 1). Prints p50/p99/p99.9 at the end.
local lines = {}
local key = os.getenv("KEY")
local batch = tonumber(os.getenv("BATCH") or "1")
local counter = 0
-- Ids are unique across runs on one database too (RUN differs per run):
-- a repeated id with the same body is an idempotent resubmission.
local run = os.getenv("RUN") or "w"
-- thread_id is set per thread by setup() (a global of each thread's Lua state).
local threads = {}

function setup(thread)
    thread:set("thread_id", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    local f = assert(io.open(os.getenv("LISTINGS"), "r"))
    for line in f:lines() do
        -- Drop the id; each request gets a fresh one.
        local body = line:gsub('^{%s*"id"%s*:%s*"[^"]*"%s*,%s*', "{")
        table.insert(lines, body)
        if #lines >= 20000 then break end
    end
    f:close()
end

local function listing()
    counter = counter + 1
    local body = lines[(counter % #lines) + 1]
    return '{"id":"' .. run .. thread_id .. "-" .. counter .. '",' .. body:sub(2)
end

function request()
    local body
    if batch == 1 then
        body = listing()
    else
        local parts = {}
        for i = 1, batch do parts[i] = listing() end
        body = "[" .. table.concat(parts, ",") .. "]"
    end
    return wrk.format("POST", "/v1/listings",
        { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
    io.write(string.format(
        "RESULT requests=%d errors_status=%d errors_io=%d duration_s=%.3f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
        summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        summary.duration / 1e6,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end

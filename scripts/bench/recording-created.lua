-- wrk script for the RecordingCreated throughput bench (benches/handler, used when wrk is installed):
-- POSTs the fixture invocation with a distinct blob name per request, `w<thread>x<n>`, so every
-- request catalogues a new recording (the handler is started with those names seeded).
-- Usage: wrk -t2 -c32 -d5s -s recording-created.lua http://ADDR/RecordingCreated  (FIXTURE env var)
local fixture_path = os.getenv("FIXTURE")
local placeholder = "PLACEHOLDER%-5f0c2d7e%-8b1a%-4c3e%-9d2f%-6a7b8c9d0e1f"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(fixture_path, "r"))
  template = f:read("*a")
  f:close()
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json; charset=utf-8"
end

function request()
  local name = "w" .. tid .. "x" .. n
  n = n + 1
  local body = template:gsub(placeholder, name)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("WRK requests=%d seconds=%.3f rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end

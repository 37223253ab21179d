-- wrk script for the RecordingCreated throughput bench (benches/handler, used when wrk is installed):
-- POSTs the fixture invocation with a distinct blob name per request, `w<thread>x<n>`, so every
-- request catalogues a new recording (the handler is started with those names seeded).
-- Requests carry the headers the Functions host sends with every invocation
-- (functions-host-protocol.md): a fresh X-Azure-Functions-InvocationId, the host version and its
-- User-Agent.
-- Usage: wrk -t2 -c32 -d5s -s recording-created.lua http://ADDR/RecordingCreated  (FIXTURE env var)
--
-- The generator shares the 2 cores with the server, so each request must cost it little: the
-- fixture is split at its placeholders and the request head built once, in `init`; a request is
-- then one concatenation. (A `gsub` over the 2 KB body plus `wrk.format` per request cost about
-- as much CPU as the echo server itself, and that CPU was taken from the server under test.)
local fixture_path = os.getenv("FIXTURE")
local placeholder = "PLACEHOLDER-5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f"
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  local f = assert(io.open(fixture_path, "r"))
  local template = f:read("*a")
  f:close()
  -- The fixture's text between placeholders, in order.
  parts = {}
  local from = 1
  while true do
    local s, e = string.find(template, placeholder, from, true)
    if not s then break end
    parts[#parts + 1] = string.sub(template, from, s - 1)
    from = e + 1
  end
  parts[#parts + 1] = string.sub(template, from)
  assert(#parts > 1, "placeholder not found in the fixture")
  -- wrk.init has set the Host header by now; the invocation id and Content-Length are added per
  -- request.
  local head = { "POST " .. wrk.path .. " HTTP/1.1" }
  wrk.headers["Content-Type"] = "application/json; charset=utf-8"
  wrk.headers["X-Azure-Functions-HostVersion"] = "4.1037.1.1"
  wrk.headers["User-Agent"] = "Azure-Functions-Host/4.1037.1.1"
  for name, value in pairs(wrk.headers) do
    if name ~= "Content-Length" then head[#head + 1] = name .. ": " .. value end
  end
  head[#head + 1] = "X-Azure-Functions-InvocationId: "
  head_text = table.concat(head, "\r\n")
  id_prefix = string.format("%08x-0000-4000-8000-", tid)
  prefix = "w" .. tid .. "x"
  n = 0
end

function request()
  local name = prefix .. n
  n = n + 1
  local body = table.concat(parts, name)
  return head_text .. id_prefix .. string.format("%012x", n) .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
  io.write(string.format("WRK requests=%d seconds=%.3f rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end

-- wrk script of tests/bench/peer_wrk.py: POST distinct signed webhook bodies.
-- BENCH_WRK_REQUESTS names a file of "signature<TAB>body" lines (signed beforehand: wrk's Lua has
-- no HMAC); each wrk thread takes every n-th line from its own offset, so no two threads send the
-- same body. BENCH_WRK_PATH is the path posted to. done() prints one JSON line for the bench.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("BENCH_WRK_PATH") or "/webhooks/whatsapp/"
  local file = assert(io.open(os.getenv("BENCH_WRK_REQUESTS"), "r"))
  local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
  requests, n, line_no = {}, 0, 0
  for line in file:lines() do
    if line_no % nthreads == id then
      local tab = line:find("\t", 1, true)
      local headers = {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = line:sub(1, tab - 1)}
      n = n + 1
      requests[n] = wrk.format("POST", path, headers, line:sub(tab + 1))
    end
    line_no = line_no + 1
  end
  file:close()
  i = 0
end

function request()
  i = i + 1
  if i > n then i = 1 end  -- wraps only when a run outlasts the file (the bench sizes it not to)
  return requests[i]
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_us": %d, "p99_us": %d, "max_us": %d, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.max, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end

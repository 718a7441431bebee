-- wrk scenario "mixed" for bench/proxy.sh: varied traffic, every request of a corpus in
-- turn (bench/corpus_requests.py writes the file: a length line, then the raw request).
--   wrk ... -s bench/mixed.lua URL -- FILE
local reqs, count, at = {}, 0, 0

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    local len = tonumber(data:sub(pos, nl - 1))
    count = count + 1
    reqs[count] = data:sub(nl + 1, nl + len)
    pos = nl + 1 + len
  end
end

function request()
  at = at % count + 1
  return reqs[at]
end

-- the same machine-readable line as the anchors' scenario.lua
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d sockerr=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end

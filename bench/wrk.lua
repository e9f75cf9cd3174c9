-- One wrk script for every figure of bench/load.sh, configured by the environment:
--   BENCH_METHOD        GET or POST
--   BENCH_PATH          e.g. /oauth/introspect
--   BENCH_HEADERS       "Name: value" lines separated by newlines; {KEY} is replaced
--   BENCH_BODY          request body; {KEY} is replaced
--   BENCH_KEYS_FILE     one credential per line: requests rotate over them
--   BENCH_RANDOM        1 to pick each request's credential uniformly at random
--   BENCH_COUNT_STATUS  1 to count responses per status code (slower; for the overload case)
-- Every request is formatted once in init(), so the generator, which shares the
-- machine's two cores with the server, spends as little as possible per request.
-- done() prints one machine-readable line, BENCH_RESULT, that load.sh parses.

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/healthz"
local headers_spec = os.getenv("BENCH_HEADERS") or ""
local body_template = os.getenv("BENCH_BODY")
local keys_file = os.getenv("BENCH_KEYS_FILE")
local count_status = os.getenv("BENCH_COUNT_STATUS") == "1"
local random_order = os.getenv("BENCH_RANDOM") == "1"

local prepared = {}
local next_index = 0
statuses = {}

local function fill(template, key)
  -- A function replacement: keys and tokens are taken literally.
  return (string.gsub(template, "{KEY}", function() return key end))
end

function init(args)
  math.randomseed(os.time())
  local keys = {}
  if keys_file and keys_file ~= "" then
    for line in io.lines(keys_file) do
      if line ~= "" then
        keys[#keys + 1] = line
      end
    end
  end
  if #keys == 0 then
    keys[1] = ""
  end
  for _, key in ipairs(keys) do
    local headers = {}
    for line in string.gmatch(headers_spec, "[^\n]+") do
      local name, value = string.match(line, "^([^:]+):%s*(.*)$")
      if name then
        headers[name] = fill(value, key)
      end
    end
    local body = nil
    if body_template and body_template ~= "" then
      body = fill(body_template, key)
    end
    prepared[#prepared + 1] = wrk.format(method, path, headers, body)
  end
end

function request()
  if random_order then
    return prepared[math.random(#prepared)]
  end
  next_index = next_index % #prepared + 1
  return prepared[next_index]
end

if count_status then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    if counted then
      for code, n in pairs(counted) do
        codes[#codes + 1] = code .. ":" .. n
      end
    end
  end
  table.sort(codes)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d timeouts=%d codes=%s\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write, e.timeout,
    (#codes > 0) and table.concat(codes, ",") or "-"))
end

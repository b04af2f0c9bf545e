-- wrk script: POST the body in REQ with every "QUERY_N" replaced by a per-request counter, so
-- each request is new to the model cache (the model path, not the cache-hit path). Prints the
-- same RESULT line as post.lua.
local f = io.open(os.getenv("REQ"), "r")
local template = f:read("*a")
f:close()
local n = 0
local thread_id = 0
setup = function(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end
request = function()
  n = n + 1
  local body = template:gsub("QUERY_N", tostring(thread_id) .. "-" .. tostring(n))
  return wrk.format("POST", "/a2a/task", {["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end

-- wrk script: POST the JSON body in the file named by REQ to PLAN_PATH (default /a2a/task) and
-- print one machine-readable line. (../shared/bench/post.lua, with the request count added.)
local f = io.open(os.getenv("REQ") or "benches/request.json", "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.path = os.getenv("PLAN_PATH") or "/a2a/task"
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end

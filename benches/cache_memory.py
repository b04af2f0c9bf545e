#!/usr/bin/env python3
"""What the answer cache costs in memory: N distinct requests (each a model call, then planned)
and the same N again (cache hits) against a running planner, with the server's RSS before,
between and after. usage: cache_memory.py PORT N PID

  python3 benches/fake_model.py 19777 &
  OLLAMA_HOST=http://127.0.0.1:19777 PLANNER_PORT=9102 target/release/planner serve & pid=$!
  python3 benches/cache_memory.py 9102 5000 $pid
"""
import http.client
import json
import os
import sys

port, n, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
here = os.path.dirname(os.path.abspath(__file__))
request = json.load(open(os.path.join(here, "request.json")))


def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for pid %d" % pid)


conn = http.client.HTTPConnection("127.0.0.1", port)


def round_of_requests():
    sources = {}
    for i in range(n):
        request["task_id"] = f"mem{i}"
        request["parameters"]["natural_language"] = (
            f"Show failed sign-ins for user number {i} in Azure AD over the last 24 hours "
            "and correlate with errors in the Users table"
        )
        conn.request("POST", "/a2a/task", json.dumps(request), {"Content-Type": "application/json"})
        response = conn.getresponse()
        body = json.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"status {response.status}: {body}")
        source = body["result"]["analysis"]["source"]
        sources[source] = sources.get(source, 0) + 1
    return sources


start = rss_kb()
first = round_of_requests()
between = rss_kb()
second = round_of_requests()
end = rss_kb()
print(
    f"RSS {start} kB; after {n} distinct requests {between} kB (sources {first}); "
    f"after the same again {end} kB (sources {second}); {(end - start) * 1024 / n:.0f} bytes a request"
)

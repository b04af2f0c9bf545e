#!/usr/bin/env bash
# Instructions per request of a whole server under load, counted by valgrind's callgrind: the
# edge, the middleware, the parse, the plan and the response together, exact and repeatable
# where the load test's req/s swing ±10 % between runs (see BENCHMARKS.md "Eleventh pass").
#
#   benches/icount_server.sh PATTERN -- CMD...
#   e.g. OLLAMA_HOST=http://127.0.0.1:9 PLANNER_PORT=9101 \
#          benches/icount_server.sh 'TaskRequest::parse$|a2a::respond$' -- target/prof/release/planner serve
#        benches/icount_server.sh 'from_slice$' -- target/prof/release/examples/ceiling 9101
#
# Starts CMD under callgrind with instrumentation off, warms it up with wrk for 4 s, counts
# during a 10 s wrk run (`wrk -t1 -c2`, benches/request.json, or REQ; PLAN_PATH as in post.lua)
# against 127.0.0.1:PORT (PORT, default 9101: the server must listen there), then stops it and
# prints the instructions per request of the whole process and of each function whose name
# matches PATTERN (inclusive). Build with line tables so functions have names:
#   CARGO_PROFILE_RELEASE_STRIP=none CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
#     cargo build --release --bin planner --example ceiling --target-dir target/prof
# KEEP=FILE keeps the callgrind dump there (for callgrind_annotate --tree=caller and the like).
# Callgrind counts every byte a `rep movsb` copies, and under valgrind the CPU reports no SHA
# extensions (SHA-256 runs in software): both read higher than they cost. Needs valgrind.
set -euo pipefail
if [ $# -lt 3 ] || [ "$2" != "--" ]; then
  echo "usage: $0 PATTERN -- CMD..." >&2
  exit 2
fi
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
pattern=$1
shift 2
port=${PORT:-9101}
url=http://127.0.0.1:$port
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.%p" "$@" \
  >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 60); do
  curl -s -o /dev/null "$url/health" && break
  sleep 1
done
export REQ=${REQ:-$here/request.json}
wrk -t1 -c2 -d4s -s "$here/post.lua" "$url" >/dev/null
callgrind_control -i on "$pid" >/dev/null 2>&1
result=$(wrk -t1 -c2 -d10s -s "$here/post.lua" "$url" | grep RESULT)
callgrind_control -i off "$pid" >/dev/null 2>&1
callgrind_control -d "$pid" >/dev/null 2>&1
kill "$pid"
wait "$pid" 2>/dev/null || true
requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$result")
dump=$(ls -S "$work"/cg.* | head -1)
[ -n "${KEEP:-}" ] && cp "$dump" "$KEEP"
echo "$result"
callgrind_annotate --inclusive=yes --auto=no "$dump" 2>/dev/null | python3 -c '
import re, sys
requests, pattern = int(sys.argv[1]), re.compile(sys.argv[2])
seen = set()
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(?:\S+?:)?(.+?)(?: \[.*\])?$", line)
    if not m:
        continue
    count, name = int(m.group(1).replace(",", "")), m.group(2)
    if "PROGRAM TOTALS" in name:
        print(f"{count // requests:>10,}  whole process, per request ({requests} requests)")
    elif pattern.search(name) and name not in seen:
        seen.add(name)
        print(f"{count // requests:>10,}  {name}")
' "$requests" "$pattern"

#!/usr/bin/env bash
# Load test, the speed guard: the planner against the ceiling of this stack on this machine (a
# bare axum server that parses the request into serde_json::Value and answers the planner's own
# plan to it, examples/ceiling.rs) and the old FastAPI mock (../shared/peers), with the same
# request and wrk settings. Prints one row per server and path, and the planner's share of the
# ceiling's req/s and its p99 against the ceiling's.
#
#   benches/load.sh           keyword path, cache-hit path, optimize_plan (50 steps), mock
#   benches/load.sh --soak    also 64 connections for 60 s on the keyword path: RSS before/after
#
# One wrk run's p99 is mostly the host's on a small VM, so the rows run in ROUNDS interleaved
# rounds (default 5), each planner row next to a ceiling row, and the verdict is the median over
# the rounds of each round's ratio. Every round also loads a second ceiling process ("ceiling
# again"): its ratios to the first are the measurement's own noise floor.
#
# Needs wrk (Debian package) and python3; the mock needs fastapi + uvicorn (installed into
# target/peer-venv on first use). Environment: WRK_ARGS (default "-t1 -c16 -d10s"); ROUNDS;
# PLANNER_BIN (default target/release/planner) to load another build, e.g. an older commit's,
# for a before/after on the same machine in the same state; CEILING_BIN likewise.
#
# Besides req/s and latency, each row gives the server process's CPU time per request (user and
# kernel, from /proc/PID/stat over the run).
set -euo pipefail
cd "$(dirname "$0")/.."
WRK_ARGS=${WRK_ARGS:--t1 -c16 -d10s}
ROUNDS=${ROUNDS:-5}
soak=false
for arg in "$@"; do
  case "$arg" in
    --soak) soak=true ;;
    *) echo "usage: $0 [--soak]" >&2; exit 2 ;;
  esac
done
bin=${PLANNER_BIN:-target/release/planner}
ceiling_bin=${CEILING_BIN:-target/release/examples/ceiling}
shared=${PLANNER_SHARED_DIR:-../shared}
out=target/load
mkdir -p "$out"

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$@" && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# A 50-step plan for optimize_plan: layers of 8, each step depending on up to 3 of the layer before.
python3 - "$out/optimize50.json" <<'PY'
import json, sys
steps = []
for i in range(50):
    layer = i // 8
    deps = [] if layer == 0 else [f"s{(layer - 1) * 8 + (i + k) % 8}" for k in range(3)]
    deps = [d for d in deps if int(d[1:]) < 50]
    steps.append({"step_id": f"s{i}", "agent_type": "data", "agent_id": "kql_data", "depends_on": deps,
                  "parameters": {"platform": "kql", "query": "count failed sign-ins by country"}})
json.dump({"task_id": "opt50", "agent_id": "workflow_planner", "action": "optimize_plan",
           "parameters": {"plan": {"steps": steps}}}, open(sys.argv[1], "w"))
PY

cargo build --release --bin planner --example ceiling >/dev/null 2>&1

ceiling=$(free_port); ceiling2=$(free_port); planner=$(free_port); cached=$(free_port); model=$(free_port)
"$ceiling_bin" "$ceiling" "$out/optimize50.json" 2>"$out/ceiling.log" & pids+=($!)
ceiling_pid=$!
# The same ceiling in a second process: the noise floor of the comparison (see the header).
"$ceiling_bin" "$ceiling2" "$out/optimize50.json" 2>"$out/ceiling2.log" & pids+=($!)
ceiling2_pid=$!
# The keyword path as the issue measures it: a model is configured but unreachable.
OLLAMA_HOST=http://127.0.0.1:9 PLANNER_HOST=127.0.0.1 PLANNER_PORT=$planner \
  "$bin" serve 2>"$out/planner.log" & pids+=($!)
planner_pid=$!
# The cache-hit path: a model that answers, and the answer cached after the first request.
python3 benches/fake_model.py "$model" & pids+=($!)
# Up before the planner's first request, or that request falls back and the check below fails.
wait_for "http://127.0.0.1:$model/api/tags"
OLLAMA_HOST=http://127.0.0.1:$model PLANNER_HOST=127.0.0.1 PLANNER_PORT=$cached \
  "$bin" serve 2>"$out/cached.log" & pids+=($!)
cached_pid=$!
wait_for "http://127.0.0.1:$ceiling/a2a/task" -d @benches/request.json || true
wait_for "http://127.0.0.1:$ceiling2/a2a/task" -d @benches/request.json || true
wait_for "http://127.0.0.1:$planner/health"
wait_for "http://127.0.0.1:$cached/health"
curl -s "http://127.0.0.1:$cached/a2a/task" -H 'content-type: application/json' -d @benches/request.json \
  | python3 -c 'import json,sys; s=json.load(sys.stdin)["result"]["analysis"]["source"]; assert s in ("llm","cache"), s'

mock=""
if [ -f "$shared/peers/legacy_mock_planner.py" ]; then
  venv=target/peer-venv
  [ -x "$venv/bin/uvicorn" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q fastapi uvicorn uvloop httptools; }
  mock=$(free_port)
  (cd "$shared/peers" && exec "$OLDPWD/$venv/bin/uvicorn" legacy_mock_planner:app --port "$mock" \
     --loop uvloop --http httptools --log-level warning) & pids+=($!)
  mock_pid=$!
  wait_for "http://127.0.0.1:$mock/health"
fi

ticks() { awk '{print $14 + 0, $15 + 0}' "/proc/$1/stat"; }
row() { # ROUND LABEL PORT REQUEST_FILE SERVER_PID
  local line u0 s0 u1 s1 cpu
  read -r u0 s0 < <(ticks "$5")
  line=$(REQ=$4 wrk $WRK_ARGS -s benches/post.lua "http://127.0.0.1:$3" 2>&1 | grep RESULT)
  read -r u1 s1 < <(ticks "$5")
  line=${line#RESULT }
  cpu=$(python3 -c "import sys; n=int(dict(kv.split('=') for kv in sys.argv[1].split())['requests']); t=1e6/$(getconf CLK_TCK)/max(n,1); print(f'cpu_user_us={($u1-$u0)*t:.1f} cpu_sys_us={($s1-$s0)*t:.1f}')" "$line")
  printf '%-2s %-42s %s %s\n' "$1" "$2" "$line" "$cpu"
  echo "$1|$2|$line $cpu" >> "$out/results.txt"
}
: > "$out/results.txt"
echo "wrk $WRK_ARGS, $ROUNDS rounds, $(nproc) cores, $(date -u +%FT%TZ); planner $bin, ceiling $ceiling_bin"
for r in $(seq 1 "$ROUNDS"); do
  row "$r" "ceiling (create_plan body)"        "$ceiling"  benches/request.json   "$ceiling_pid"
  row "$r" "planner keyword path (model down)" "$planner"  benches/request.json   "$planner_pid"
  row "$r" "planner cache-hit path"            "$cached"   benches/request.json   "$cached_pid"
  row "$r" "ceiling again (second process)"    "$ceiling2" benches/request.json   "$ceiling2_pid"
  row "$r" "ceiling (optimize_plan 50 steps)"  "$ceiling"  "$out/optimize50.json" "$ceiling_pid"
  row "$r" "planner optimize_plan 50 steps"    "$planner"  "$out/optimize50.json" "$planner_pid"
done
# The old mock once: it is an order of magnitude off, and no verdict hangs on it.
[ -n "$mock" ] && row 1 "old FastAPI mock" "$mock" benches/request.json "$mock_pid"

python3 - "$out/results.txt" <<'PY'
import statistics, sys
rows = {}  # label -> round -> fields
for line in open(sys.argv[1]):
    rnd, label, rest = line.rstrip("\n").split("|")
    rows.setdefault(label, {})[rnd] = {k: float(v) for k, v in (kv.split("=") for kv in rest.split())}
med = statistics.median
cpu = lambda r: r["cpu_user_us"] + r["cpu_sys_us"]
def ratio(a, b):
    rounds = sorted(set(rows[a]) & set(rows[b]), key=int)
    share = [rows[a][r]["rps"] / rows[b][r]["rps"] for r in rounds]
    p99 = [rows[a][r]["p99_ms"] / rows[b][r]["p99_ms"] for r in rounds]
    print(f"{a:42} {med(share):6.1%} of the ceiling's req/s, p99 {med(p99):4.1f}x the ceiling's, "
          f"server CPU {med(cpu(rows[a][r]) for r in rounds):.0f} vs "
          f"{med(cpu(rows[b][r]) for r in rounds):.0f} us per request")
    print(f"{'':42} medians of {len(rounds)} rounds; each round: "
          + " ".join(f"{s:.0%} {p:.1f}x" for s, p in zip(share, p99)))
print("noise floor (the ceiling against a second copy of itself):")
ratio("ceiling again (second process)", "ceiling (create_plan body)")
print("the planner:")
ratio("planner keyword path (model down)", "ceiling (create_plan body)")
ratio("planner cache-hit path", "ceiling (create_plan body)")
ratio("planner optimize_plan 50 steps", "ceiling (optimize_plan 50 steps)")
PY

if $soak; then
  pid=$planner_pid
  REQ=benches/request.json wrk -t1 -c64 -d10s -s benches/post.lua "http://127.0.0.1:$planner" >/dev/null 2>&1
  before=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  line=$(REQ=benches/request.json wrk -t1 -c64 -d60s -s benches/post.lua "http://127.0.0.1:$planner" 2>&1 | grep RESULT)
  after=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  echo "soak 64 connections 60 s: ${line#RESULT }; RSS ${before} kB -> ${after} kB ($(python3 -c "print(f'{($after-$before)/$before:+.1%}')"))"
fi

#!/usr/bin/env bash
# Soak and faults with Redis in the picture: 64 connections for 60 s (SOAK_SECONDS) on
#   1. the keyword path (no model), Redis killed half-way;
#   2. the model path (../shared/tools/fake_llm.py answering after FAKE_DELAY s, every request a
#      new query), the model killed at one third, Redis at two thirds.
# Prints per run: req/s, p50, p99, failed requests (non-2xx + socket errors), RSS after warm-up
# and at the end. Needs wrk, redis-server, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SOAK_SECONDS:-60}
conns=${SOAK_CONNECTIONS:-64}
delay=${FAKE_DELAY:-0.05}
shared=${PLANNER_SHARED_DIR:-../shared}
out=target/soak
mkdir -p "$out"
for tool in wrk redis-server python3; do command -v $tool >/dev/null || { echo "$tool is needed"; exit 2; }; done
cargo build --release --bin planner >/dev/null 2>&1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# The request with a varying query for the model path.
python3 - benches/request.json "$out/vary.json" <<'PY'
import json, sys
req = json.load(open(sys.argv[1]))
req["parameters"]["natural_language"] = "what went wrong on host QUERY_N in the last hour"
json.dump(req, open(sys.argv[2], "w"))
PY

run() { # name, planner env..., then the wrk script and body after --
  local name=$1; shift
  local envs=() ; while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  local script=$1 body=$2 faults=$3
  local redis_port port
  redis_port=$(free_port); port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null & local redis_pid=$!; pids+=($redis_pid)
  env "${envs[@]}" PLANNER_HOST=127.0.0.1 PLANNER_PORT="$port" LOG_LEVEL=error \
    PLANNER_REDIS_URL="redis://127.0.0.1:$redis_port/0" target/release/planner serve 2>"$out/$name.log" &
  local pid=$!; pids+=($pid)
  wait_for "http://127.0.0.1:$port/health"
  REQ=$body wrk -t2 -c"$conns" -d"${secs}s" --timeout 5s -s "$script" "http://127.0.0.1:$port" >"$out/$name.wrk" &
  local wrk_pid=$!
  sleep 5; local rss0; rss0=$(rss_kb $pid)
  # RSS every 5 s into a file, to see the trend and not only the end points.
  ( while kill -0 "$wrk_pid" 2>/dev/null; do rss_kb $pid; sleep 5; done ) >"$out/$name.rss" 2>/dev/null &
  if [ "$faults" = model+redis ]; then
    sleep $((secs / 3 - 5)); kill "$model_pid"; echo "  $(date +%T) model killed"
    sleep $((secs / 3)); kill -9 "$redis_pid"; echo "  $(date +%T) redis killed"
  else
    sleep $((secs / 2 - 5)); kill -9 "$redis_pid"; echo "  $(date +%T) redis killed"
  fi
  wait "$wrk_pid"
  local rss1; rss1=$(rss_kb $pid)
  local redis_mode; redis_mode=$(curl -s "http://127.0.0.1:$port/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["redis"]["mode"])')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local result; result=$(grep RESULT "$out/$name.wrk" | sed 's/RESULT //')
  printf '%-34s %s rss_kb=%s->%s (%+.1f%%) redis_at_end=%s\n' "$name" "$result" \
    "$rss0" "$rss1" "$(python3 -c "print(100*($rss1-$rss0)/$rss0)")" "$redis_mode"
  echo "  RSS every 5 s (kB): $(tr '\n' ' ' <"$out/$name.rss")"
}

echo "soak: $conns connections, ${secs}s per run, $(nproc) cores, $(date -u +%FT%TZ)"
run "keyword path, redis killed" LLM_PROVIDER=none -- benches/post.lua benches/request.json redis
model_port=$(free_port)
python3 "$shared/tools/fake_llm.py" "$model_port" good "$out/fake_llm.log" --delay "$delay" & model_pid=$!; pids+=($model_pid)
wait_for "http://127.0.0.1:$model_port/api/tags"
run "model path, model+redis killed" OLLAMA_HOST="http://127.0.0.1:$model_port" PLANNER_LLM_WARMUP=false -- \
  benches/vary.lua "$out/vary.json" model+redis

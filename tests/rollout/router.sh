#!/usr/bin/env bash
# The A/B router, live: nginx on loopback with the repo's own template (deploy/nginx) rendered
# as the nginx image renders it, in front of a normal and a legacy-strategy planner (the release
# binary). Checks the split at 10 % and 50 %, stickiness of journeys across client addresses,
# request ids, failover with the new planner killed, and the router's own JSON errors
# (tests/rollout/router_check.py), and that the legacy strategy answers exactly as the old mock
# in ../shared/peers (fails when the mock is missing or fastapi cannot be installed).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
shared=${PLANNER_SHARED_DIR:-../shared}
command -v nginx >/dev/null || { echo "nginx is needed (apt-get install nginx-light)"; exit 2; }
command -v envsubst >/dev/null || { echo "envsubst is needed (apt-get install gettext-base)"; exit 2; }
cargo build --release --bin planner >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
  local rc=$?
  # On a failure, what the router and both planners said: enough to tell a router error from a
  # planner's.
  if [ "$rc" -ne 0 ]; then
    for log in error.log new.log legacy.log; do
      [ -s "$work/$log" ] && { echo "--- $log (last 30 lines)"; tail -n 30 "$work/$log"; }
    done
  fi
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }

new_port=$(free_port); legacy_port=$(free_port); router_port=$(free_port)
LLM_PROVIDER=none LOG_LEVEL=warn PLANNER_HOST=127.0.0.1 PLANNER_PORT=$new_port \
  target/release/planner serve 2>"$work/new.log" & new_pid=$!; pids+=($new_pid)
PLANNER_STRATEGY=legacy LOG_LEVEL=warn PLANNER_HOST=127.0.0.1 PLANNER_PORT=$legacy_port \
  target/release/planner serve 2>"$work/legacy.log" & pids+=($!)
wait_for "http://127.0.0.1:$new_port/health"
wait_for "http://127.0.0.1:$legacy_port/health"

# Render exactly as the image does: source the .envsh, then envsubst the template.
render() {
  (
    export PLANNER_AB_PERCENT=$1 PLANNER_NEW_ADDR=127.0.0.1:$new_port \
      PLANNER_LEGACY_ADDR=127.0.0.1:$legacy_port ROUTER_RESOLVER=127.0.0.1 \
      ROUTER_LISTEN=127.0.0.1:$router_port ROUTER_READ_TIMEOUT=15s
    . "$repo/deploy/nginx/ab-split.envsh"
    envsubst "$(env | sed -n 's/^\(PLANNER_[A-Z_]*\|ROUTER_[A-Z_]*\)=.*/${\1}/p' | tr '\n' ' ')" \
      < "$repo/deploy/nginx/templates/default.conf.template" > "$work/default.conf"
  )
  cat > "$work/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/body; proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
  include $work/default.conf;
}
CONF
}
start_router() {
  render "$1"
  if [ -f "$work/nginx.pid" ] && kill -0 "$(cat "$work/nginx.pid")" 2>/dev/null; then
    nginx -p "$work" -c "$work/nginx.conf" -s reload
    sleep 0.5
  else
    nginx -p "$work" -c "$work/nginx.conf"
  fi
  wait_for "http://127.0.0.1:$router_port/health"
  curl -s "http://127.0.0.1:$router_port/health" | grep -q "\"planner_percent\":$1"
}

router="http://127.0.0.1:$router_port"
start_router 10
python3 tests/rollout/router_check.py split "$router" 10
start_router 50
python3 tests/rollout/router_check.py split "$router" 50
python3 tests/rollout/router_check.py sticky "$router"
python3 tests/rollout/router_check.py ids "$router"
python3 tests/rollout/router_check.py too-large "$router"
kill "$new_pid"; wait "$new_pid" 2>/dev/null || true
python3 tests/rollout/router_check.py failover "$router"
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
python3 tests/rollout/router_check.py unavailable "$router"

# The legacy side against the old mock itself: a rollback target that drifted from the mock
# would fail here, so a missing mock or a venv that cannot be made is a failure, not a skip.
[ -f "$shared/peers/legacy_mock_planner.py" ] || {
  echo "router: FAILED: $shared/peers/legacy_mock_planner.py is missing (set PLANNER_SHARED_DIR)"; exit 1; }
venv=target/peer-venv
[ -x "$venv/bin/uvicorn" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q fastapi uvicorn; } || {
  echo "router: FAILED: cannot install fastapi and uvicorn into $venv"; exit 1; }
mock_port=$(free_port); legacy2=$(free_port)
(cd "$shared/peers" && exec "$repo/$venv/bin/uvicorn" legacy_mock_planner:app --port "$mock_port" --log-level warning) & pids+=($!)
PLANNER_STRATEGY=legacy LOG_LEVEL=warn PLANNER_HOST=127.0.0.1 PLANNER_PORT=$legacy2 \
  target/release/planner serve 2>/dev/null & pids+=($!)
wait_for "http://127.0.0.1:$mock_port/health"; wait_for "http://127.0.0.1:$legacy2/health"
python3 tests/rollout/router_check.py same-as-mock "http://127.0.0.1:$legacy2" "http://127.0.0.1:$mock_port" \
  "$shared/eval/dev.jsonl"
echo "router: passed"

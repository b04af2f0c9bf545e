#!/usr/bin/env bash
# A2A interop with the official Python SDKs of both generations: installs a2a-sdk 1.x and
# a2a-sdk 0.3.x into throwaway venvs (target/interop, reused when present), starts the release
# binary with the default configuration (no model reachable: keyword analysis), and runs one
# client of each generation against it, then the reference client scripts of ../shared/a2a
# (a missing one is a failure).
set -euo pipefail
cd "$(dirname "$0")/../.."
venvs=target/interop
shared=${PLANNER_SHARED_DIR:-../shared}
mkdir -p "$venvs"
for gen in v1 v03; do
  spec='a2a-sdk>=1,<2'; [ "$gen" = v03 ] && spec='a2a-sdk==0.3.*'
  if ! "$venvs/$gen/bin/python" -c 'import a2a' 2>/dev/null; then
    python3 -m venv "$venvs/$gen"
    "$venvs/$gen/bin/pip" install -q "$spec"
  fi
done
cargo build --release --bin planner >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PLANNER_HOST=127.0.0.1 PLANNER_PORT=$port LOG_LEVEL=warn target/release/planner serve &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
base="http://127.0.0.1:$port"
echo "== a2a-sdk $("$venvs/v1/bin/pip" show a2a-sdk | sed -n 's/^Version: //p') (v1.0)"
"$venvs/v1/bin/python" tests/interop/a2a_v1.py "$base"
echo "== a2a-sdk $("$venvs/v03/bin/pip" show a2a-sdk | sed -n 's/^Version: //p') (v0.3)"
"$venvs/v03/bin/python" tests/interop/a2a_v03.py "$base"
[ -f "$shared/a2a/client_check.py" ] || {
  echo "A2A interop: FAILED: the reference clients in $shared/a2a are missing (set PLANNER_SHARED_DIR)"; exit 1; }
echo "== reference client scripts from $shared/a2a"
# The v1 script exits 1 unless the task completed; the v0.3 one prints the state and exits 0
# whatever it is, so its output is read.
"$venvs/v1/bin/python" "$shared/a2a/client_check.py" "$base" "errors in kql for the login service" >/dev/null
out=$("$venvs/v03/bin/python" "$shared/a2a/client_check_v03sdk.py" "$base" "errors in kql")
grep -q "^state completed " <<<"$out" || {
  echo "FAIL the v0.3 reference client did not get a completed task:"; echo "$out"; exit 1; }
echo "ok   both reference clients got a completed task"
echo "A2A interop: passed"

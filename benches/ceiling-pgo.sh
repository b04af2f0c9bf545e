#!/usr/bin/env bash
# The load test's ceiling (examples/ceiling.rs) built as the planner's image is: fat LTO, one
# codegen unit and profile-guided optimisation, so that `benches/load.sh --production` compares
# like with like (BENCHMARKS.md, sixteenth pass: PGO takes ~15 % off the ceiling's CPU a request,
# ~30 % off the planner's). Trained with wrk on the two bodies the load test sends.
#
#   benches/ceiling-pgo.sh [OPTIMIZE_REQUEST_FILE]
#       build target/ceil-use/production/examples/ceiling; FILE (default target/load/optimize50.json,
#       which benches/load.sh writes) is the optimize_plan body it answers and is trained on too
#
# Needs wrk and llvm-profdata of rustc's LLVM (deploy/pgo-build.sh finds it and merges).
# Environment: CEILING_PGO_PORT (default 19500, on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${CEILING_PGO_PORT:-19500}
work=target/ceil-pgo
log() { echo "ceiling-pgo: $*" >&2; }
command -v wrk >/dev/null || { log "wrk is needed (apt-get install wrk)"; exit 2; }
optimize=${1:-target/load/optimize50.json}
[ -f "$optimize" ] || { log "no $optimize: benches/load.sh writes it (or name another optimize_plan body)"; exit 2; }
rm -rf "$work/raw" && mkdir -p "$work/raw"
raw=$(cd "$work/raw" && pwd)

log "1/4 instrumented build"
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$raw" \
  cargo build --profile production --locked --example ceiling --target-dir target/ceil-gen

log "2/4 training"
LLVM_PROFILE_FILE="$raw/ceiling-%p.profraw" target/ceil-gen/production/examples/ceiling "$port" \
  "$optimize" 2>"$work/train.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
up=false
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/a2a/task" -d @benches/request.json && { up=true; break; }
  sleep 0.1
done
$up || { log "the instrumented ceiling did not come up on port $port (see $work/train.log)"; exit 1; }
REQ=benches/request.json wrk -t1 -c16 -d6s -s benches/post.lua "http://127.0.0.1:$port" >/dev/null
REQ=$optimize wrk -t1 -c16 -d3s -s benches/post.lua "http://127.0.0.1:$port" >/dev/null
kill -TERM "$pid"
wait "$pid" || { log "the instrumented ceiling did not stop cleanly"; exit 1; }
trap - EXIT

log "3/4 merging"
profile=$(deploy/pgo-build.sh --merge ceiling "$raw" "$work")

log "4/4 optimised build"
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$profile" \
  cargo build --profile production --locked --example ceiling --target-dir target/ceil-use
log "built target/ceil-use/production/examples/ceiling (profile $profile)"

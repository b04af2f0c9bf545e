#!/usr/bin/env bash
# The production build of the planner: fat LTO, one codegen unit, and profile-guided
# optimisation (PGO) trained on the requests it answers in production. Measured on the 2-core
# benchmark machine: about a third less CPU per request than `cargo build --release`
# (BENCHMARKS.md, sixteenth pass). The Dockerfile builds the image with it.
#
#   deploy/pgo-build.sh                 build target/production/planner (two full builds)
#   deploy/pgo-build.sh --train BIN     only the training workload, against BIN (any build: a
#                                       quick check that training still passes, as CI runs it)
#   deploy/pgo-build.sh --merge NAME RAW_DIR OUT_DIR
#                                       merge RAW_DIR/NAME-*.profraw into OUT_DIR and print the
#                                       profile's path (benches/ceiling-pgo.sh builds the load
#                                       test's ceiling the same way)
#   deploy/pgo-build.sh --install-tools make llvm-profdata available (as root, e.g. in the
#                                       image's build stage): rustup's llvm-tools, else Debian's
#                                       llvm-<major> (bookworm-security carries the current majors;
#                                       the suite is added to apt's sources when they lack it)
#
# Steps: (1) the planner built with -Cprofile-generate; (2) `examples/pgo_train.rs` runs it
# twice over (model unreachable: the keyword fallback; a stand-in model: model answers and the
# answer cache) with the production request mix, then stops it with SIGTERM so that it writes
# its profile; (3) llvm-profdata merges the profile; (4) the planner built with -Cprofile-use.
#
# Needs llvm-profdata of rustc's LLVM: $LLVM_PROFDATA, else rustup's llvm-tools component
# (installed when rustup is there), else llvm-profdata-<major> from the distribution.
# Environment: PGO_PORT (default 19400; this port and the next two are used on 127.0.0.1),
# PGO_ROUNDS (default 2000 rounds of the request mix: about 10,000 requests per planner),
# PGO_TRAINER_PROFILE (default release: the cargo profile the training client is built with).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PGO_PORT:-19400}
rounds=${PGO_ROUNDS:-2000}
work=target/pgo
# The training client's own build: release here; CI's check uses the test build's `dev`.
trainer_profile=${PGO_TRAINER_PROFILE:-release}
trainer=target/$([ "$trainer_profile" = dev ] && echo debug || echo "$trainer_profile")/examples/pgo_train

log() { echo "pgo-build: $*" >&2; }
# Whatever the training started goes down with the script, however it ends.
started=()
trap 'for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# The major version of rustc's LLVM: llvm-profdata must match it.
llvm_major() { rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p'; }

llvm_profdata() {
  if [ -n "${LLVM_PROFDATA:-}" ]; then echo "$LLVM_PROFDATA"; return; fi
  local host major tools
  host=$(rustc -vV | sed -n 's/^host: //p')
  major=$(llvm_major)
  tools="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
  if [ ! -x "$tools" ] && command -v rustup >/dev/null; then
    rustup component add llvm-tools >&2 || true
  fi
  if [ -x "$tools" ]; then echo "$tools"; return; fi
  if command -v "llvm-profdata-$major" >/dev/null; then command -v "llvm-profdata-$major"; return; fi
  log "no llvm-profdata for LLVM $major: set LLVM_PROFDATA, or install rustup's llvm-tools or llvm-$major"
  return 1
}

# train BIN [PROFILE_DIR]: the two planners and the stand-in model up, the request mix through
# both, then SIGTERM; a planner that does not stop cleanly fails the run (its profile would be
# missing or partial).
train() {
  local bin=$1 profiles=${2:-} model=$port keyword=$((port + 1)) cached=$((port + 2))
  local pids=() planners=() status=0
  mkdir -p "$work" && : > "$work/train.log"
  cargo build --profile "$trainer_profile" --locked --example pgo_train >&2
  "$trainer" model "$model" & pids+=($!) started+=($!)
  for p in "$keyword" "$cached"; do
    local ollama=http://127.0.0.1:9
    [ "$p" = "$cached" ] && ollama=http://127.0.0.1:$model
    # LLVM_PROFILE_FILE only matters to an instrumented build; %p: one file per process.
    LLVM_PROFILE_FILE="${profiles:-/dev/null}/planner-%p.profraw" OLLAMA_HOST=$ollama \
      PLANNER_HOST=127.0.0.1 PLANNER_PORT=$p LOG_LEVEL=error "$bin" serve 2>>"$work/train.log" & planners+=($!) started+=($!)
  done
  "$trainer" drive "http://127.0.0.1:$keyword" "http://127.0.0.1:$cached" "$rounds" || status=$?
  for p in "${planners[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${planners[@]}"; do wait "$p" || { log "planner $p did not stop cleanly"; status=1; }; done
  [ "$status" -eq 0 ] || tail -n 20 "$work/train.log" >&2
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  return "$status"
}

# llvm-profdata from Debian when llvm_profdata finds none (it tries rustup first).
install_tools() {
  llvm_profdata >/dev/null 2>&1 && return
  local major
  major=$(llvm_major)
  grep -rqs bookworm-security /etc/apt/sources.list /etc/apt/sources.list.d \
    || echo 'deb http://deb.debian.org/debian-security bookworm-security main' \
      > /etc/apt/sources.list.d/bookworm-security.list
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "llvm-$major" >/dev/null
  rm -rf /var/lib/apt/lists/*
  log "using $(llvm_profdata)"
}

# merge NAME RAW_DIR OUT_DIR: RAW_DIR/NAME-*.profraw merged into OUT_DIR/NAME-<hash>.profdata,
# whose absolute path it prints. Named by its content: cargo does not look into the file, only at
# the flag, so a new profile under the old name would leave the dependencies compiled with the
# old one.
merge() {
  local name=$1 raw=$2 out=$3 profdata files profile
  profdata=$(llvm_profdata)
  shopt -s nullglob
  files=("$raw/$name"-*.profraw)
  [ ${#files[@]} -gt 0 ] || { log "training wrote no profile"; return 1; }
  log "merging ${#files[@]} profiles with $profdata"
  mkdir -p "$out"
  "$profdata" merge -o "$out/merged.profdata" "${files[@]}" >&2
  profile="$(cd "$out" && pwd)/$name-$(sha256sum "$out/merged.profdata" | cut -c1-16).profdata"
  rm -f "$out/$name"-*.profdata && mv "$out/merged.profdata" "$profile"
  echo "$profile"
}

case "${1:-}" in
  --train) train "${2:?usage: $0 --train PLANNER_BIN}"; exit ;;
  --install-tools) install_tools; exit ;;
  --merge) merge "${2:?usage: $0 --merge NAME RAW_DIR OUT_DIR}" "${3:?}" "${4:?}"; exit ;;
esac

# No llvm-profdata fails here, not after the instrumented build and the training.
llvm_profdata >/dev/null
rm -rf "$work/raw" && mkdir -p "$work/raw"
raw=$(cd "$work/raw" && pwd)

log "1/4 instrumented build"
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$raw" \
  cargo build --profile production --locked --bin planner --target-dir "$work/instrumented"

log "2/4 training"
train "$work/instrumented/production/planner" "$raw"

log "3/4 merging"
profile=$(merge planner "$raw" "$work")

log "4/4 optimised build"
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$profile" \
  cargo build --profile production --locked --bin planner
log "built target/production/planner (profile $profile)"

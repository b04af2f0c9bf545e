#!/usr/bin/env bash
# Criterion A/B on a noisy machine: runs two builds of the pipeline bench in turn, ROUNDS times,
# and prints each benchmark's median and minimum per side. On the 2-core VM of BENCHMARKS.md one
# run can move by ±35 % from the next, so a before/after is only read from many alternated
# rounds; the minimum is the least disturbed round, and both sides get the same chances at it.
#
#   benches/alternate.sh ROUNDS FILTER BEFORE_BIN AFTER_BIN
#   e.g. benches/alternate.sh 16 'stage/keyword_analysis$|pipeline/create_plan_keyword' /tmp/before $AFTER
#
# A bench binary is what `cargo bench --bench pipeline --no-run` prints as "Executable"; copy it
# away before building the other commit. Environment: MEASUREMENT (seconds per run, default 1),
# WARMUP (default 0.5).
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: $0 ROUNDS FILTER BEFORE_BIN AFTER_BIN" >&2
  exit 2
fi
rounds=$1 filter=$2 before=$3 after=$4
for bin in "$before" "$after"; do
  [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 2; }
done
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# One run of BIN: "SIDE NAME MICROSECONDS" per benchmark, from criterion's point estimate.
run() {
  "$2" --bench --measurement-time "${MEASUREMENT:-1}" --warm-up-time "${WARMUP:-0.5}" "$filter" 2>/dev/null |
    awk -v side="$1" '
      # The name is on its own line when it is long, else before "time:" on the same line.
      /^[A-Za-z0-9_]+\/[^ ]*/ { name = $1 }
      /time:/ && !/%/ {
        for (i = 1; i <= NF; i++) if ($i == "time:") { v = $(i + 3); u = $(i + 4) }
        if (u == "ns") v /= 1000; else if (u == "ms") v *= 1000; else if (u == "s") v *= 1e6
        else if (u != "µs") next
        print side, name, v
      }'
}

for round in $(seq 1 "$rounds"); do
  run before "$before" >>"$results"
  run after "$after" >>"$results"
  echo "round $round/$rounds done" >&2
done

python3 - "$results" "$rounds" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, name, us = line.split()
    runs[(name, side)].append(float(us))
names = sorted({name for name, _ in runs})
if not names:
    sys.exit("no benchmark matched the filter")
print(f"{sys.argv[2]} alternated rounds; microseconds, median (minimum)")
print(f"{'benchmark':56} {'before':>20} {'after':>20} {'median':>8}")
for name in names:
    b, a = runs.get((name, "before"), []), runs.get((name, "after"), [])
    if not (a and b):
        continue
    mb, ma = statistics.median(b), statistics.median(a)
    print(f"{name:56} {mb:9.3f} ({min(b):8.3f}) {ma:9.3f} ({min(a):8.3f}) {100 * (ma - mb) / mb:+7.1f}%")
PY

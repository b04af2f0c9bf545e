#!/usr/bin/env bash
# Instructions per call, counted by valgrind's callgrind: a before/after that the host's noise
# cannot move. On the 2-core VM of BENCHMARKS.md criterion's medians drift by ±35 % between
# runs, so a change of a few per cent is invisible in time; the number of instructions a stage
# executes is exact and the same on every run. It is not time (a cache miss costs no more
# instructions than a hit), so a change is kept when it cuts instructions *and* criterion's
# alternated rounds (benches/alternate.sh) do not say it got slower.
#
#   benches/icount.sh FILTER FUNCTION BIN...
#   e.g. benches/icount.sh 'stage/keyword_analysis$' 'analyzer::analyze_text' /tmp/before /tmp/after
#
# Runs each pipeline bench binary BIN (what `cargo bench --bench pipeline --no-run` prints as
# "Executable"; build with CARGO_PROFILE_BENCH_DEBUG=line-tables-only CARGO_PROFILE_BENCH_STRIP=none
# so functions have names: the bench profile inherits the release profile's `strip`)
# under callgrind for the benchmarks matching FILTER, counting only inside criterion's timing
# loop, and prints the instructions per call of each function whose name matches FUNCTION (a
# regular expression; several names may match), called in that loop. Pick a function called
# once per iteration (`analyze_text` for the analysis bench; a future's poll, such as
# `create_plan_as::{{closure}}`, for the whole keyword plan, which never waits). Needs valgrind
# (Debian package).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 FILTER FUNCTION BIN..." >&2
  exit 2
fi
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
filter=$1 function=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for bin in "$@"; do
  [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 2; }
  valgrind --tool=callgrind --dump-instr=no --toggle-collect='criterion::bencher::Bencher*iter*' \
    --callgrind-out-file="$work/out" "$bin" --bench --profile-time 2 "$filter" >/dev/null 2>&1
  callgrind_annotate --inclusive=yes --tree=caller "$work/out" 2>/dev/null >"$work/tree"
  # A block of the caller tree: "< caller (Nx)" lines, then "* function" with its inclusive
  # cost. Only the timing loop was counted, so cost / calls is the cost of one call in it.
  python3 - "$work/tree" "$function" "$bin" <<'PY'
import re, sys
tree, pattern, bin_ = sys.argv[1], re.compile(sys.argv[2]), sys.argv[3]
callers, found = [], []
for line in open(tree, errors="replace"):
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+([<*])\s+\S*?:(.*?)(?: \((\d[\d,]*)x\))?(?: \[.*\])?\s*$", line)
    if not m:
        callers = []
        continue
    cost, kind, name, calls = m.groups()
    if kind == "<":
        callers.append((int(cost.replace(",", "")), name, int((calls or "0").replace(",", ""))))
    elif pattern.search(name) and callers:
        n = sum(k for _, _, k in callers)
        if n:
            found.append((name, int(cost.replace(",", "")) / n, n))
if not found:
    sys.exit(f"{bin_}: no function matching {pattern.pattern} is called in the timing loop")
for name, per_call, n in found:
    print(f"{per_call:12,.0f}  {name}  ({n:,} calls)  {bin_}")
PY
done

#!/usr/bin/env bash
# The issue-6 benchmarks (BENCHMARKS.md): each criterion bench RUNS times
# (default 5), reduced to the median and min–max of each ratio against its
# same-run baseline; then the two harness-less benches, which do their own
# repeated runs. Expect about 15 minutes on a 2-core machine.
#
#   scripts/bench.sh                 # everything
#   RUNS=7 scripts/bench.sh token    # some of: token parse fanout join link_fanout
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
BENCHES=("$@")
[ ${#BENCHES[@]} -eq 0 ] && BENCHES=(token parse fanout join link_fanout)

args=()
for b in "${BENCHES[@]}"; do args+=(--bench "$b"); done
cargo bench --locked --no-run "${args[@]}"

summarise() {
    python3 -c '
import sys, collections
runs = collections.defaultdict(list)
ns = collections.defaultdict(list)
paired = collections.defaultdict(list)
for line in sys.stdin:
    f = line.split()
    if len(f) == 5 and f[0] == "RATIO":
        runs[f[1]].append(float(f[4])); ns[f[1]].append(float(f[2]))
    elif len(f) >= 3 and f[0] == "PAIRED":
        paired[f[1]].append(float(f[2]))
def med(v):
    v = sorted(v); return v[len(v) // 2]
print("criterion: per run, the ratio of medians; here the median (min, max) over runs")
for k in runs:
    r, t = runs[k], ns[k]
    print(f"{k:<36} ratio median {med(r):6.2f}  (min {min(r):.2f}, max {max(r):.2f})   "
          f"median {med(t):9.1f} ns  (min {min(t):.1f}, max {max(t):.1f})   n={len(r)}")
if paired:
    print("paired rounds: per run, the median per-round ratio; here the median (min, max) over runs")
for k, r in paired.items():
    print(f"{k:<36} ratio median {med(r):6.2f}  (min {min(r):.2f}, max {max(r):.2f})   n={len(r)}")
'
}

for b in "${BENCHES[@]}"; do
    case "$b" in
        token | parse | fanout)
            echo "== $b: $RUNS criterion runs"
            for _ in $(seq "$RUNS"); do
                cargo bench --locked --bench "$b" 2>/dev/null | grep -E '^(RATIO|PAIRED)' || true
            done | summarise
            ;;
        join | link_fanout)
            echo "== $b"
            cargo bench --locked --bench "$b" 2>/dev/null
            ;;
        *) echo "unknown bench $b" >&2; exit 2 ;;
    esac
done

#!/usr/bin/env bash
# The real-server load runs of issue 6 (BENCHMARKS.md, "Load through real
# servers"): every target RUNS times (default 5), each run on fresh servers,
# the targets in alternating order so a change in the machine's load does
# not always hit the same one. Then the medians and min–max of the
# same-run ratios (ours / ideal component, ours / mod_mix).
#
#   scripts/load.sh                 # 5 runs, about 35 minutes
#   RUNS=1 scripts/load.sh          # one quick round
#   scripts/load.sh multilink       # goal 4: one domain, two links
#   scripts/load.sh summary FILE    # reduce an earlier log again
#
# Needs Prosody and ejabberd (scripts/install-test-deps.sh). Everything
# runs on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

case "${1:-}" in
    multilink)
        exec cargo bench --locked --bench load -- multilink
        ;;
    summary)
        exec python3 scripts/load_summary.py "$2" "${3:-}"
        ;;
esac

mkdir -p "$TARGET_DIR/load"
log="$TARGET_DIR/load/load-$(date -u +%Y%m%dT%H%M%SZ).log"
cargo bench --locked --bench load --no-run
{
    echo "MACHINE nproc=$(nproc) model=\"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)\" kernel=$(uname -r) commit=$(git rev-parse --short HEAD)"
} | tee "$log"
targets=(prosody-ideal prosody-mixgate ejabberd-ideal ejabberd-mixgate ejabberd-modmix)
for run in $(seq "$RUNS"); do
    order=("${targets[@]}")
    if [ $((run % 2)) -eq 0 ]; then
        order=()
        for ((i = ${#targets[@]} - 1; i >= 0; i--)); do order+=("${targets[i]}"); done
    fi
    for t in "${order[@]}"; do
        scenarios=(fanout50 latency50 fanout200)
        # The flat-rate run is for the MIX services, not the baseline.
        case "$t" in *-ideal) ;; *) scenarios+=(history20) ;; esac
        echo "== run $run $t, load average $(cut -d ' ' -f 1-3 /proc/loadavg)" | tee -a "$log"
        cargo bench --locked --bench load -- run "$t" "${scenarios[@]}" --run "$run" 2>&1 \
            | tee -a "$log" | grep -E '^(RESULT|REGISTER|LOGIN)' || true
    done
done
echo "log: $log"
python3 scripts/load_summary.py "$log" "$TARGET_DIR/load/deliveries.svg"

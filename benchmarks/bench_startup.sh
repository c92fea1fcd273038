#!/usr/bin/env bash
# Start-up time of `pyod-dsnf --help` for two checkouts, timed alternately (docs/cli.md).
# Usage: bash benchmarks/bench_startup.sh OLD_CHECKOUT NEW_CHECKOUT [RUNS]
set -euo pipefail
old=$(cd "$1" && pwd); new=$(cd "$2" && pwd); runs=${3:-7}
python=${PYTHON:-python3}
for _ in $(seq 1 "$runs"); do
  for dir in "$old" "$new"; do
    start=$(date +%s.%N)
    (cd "$dir" && PYTHONPATH="$dir" "$python" -m pyod_dsnf --help > /dev/null)
    end=$(date +%s.%N)
    echo "$dir $(echo "$end - $start" | bc)"
  done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# The NCC at national scale: the three benchmarks of docs/scale.md at full size, each
# JSON result line appended to benchmarks/results/ncc_scale.jsonl (with the date).
# About 30 minutes on a 2-core machine. Usage: benchmarks/ncc_scale.sh [SITES]
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
sites=${1:-10000}
out=benchmarks/results/ncc_scale.jsonl
mkdir -p "$(dirname "$out")"
run() {
  echo "== brexit ncc bench $*" >&2
  line=$(brexit ncc bench "$@" | tee /dev/stderr | tail -n 1)
  printf '{"date":"%s","args":"%s","result":%s}\n' "$(date -u +%FT%TZ)" "$*" "$line" >> "$out"
}
run ingest --messages 100000
run fleet --sites "$sites" --nodes-per-site 3 --duration 300 --kill-at 150
run fleet --sites "$sites" --nodes-per-site 3 --duration 300 --nats

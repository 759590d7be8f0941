#!/usr/bin/env bash
# Measures the executors side by side on one machine: the demo experiment
# (docs/configs/demo.toml) with the local executor and through a local Ray
# head, each with 1 and 2 inner loops at once, and prints a markdown table of
# wall times, speed-up over one worker and parallel efficiency. Checks that
# every run's metrics.jsonl is byte-identical to the first one's.
#
# Usage: scripts/measure-executors.sh [DERL_BINARY]
# Needs Ray: bash scripts/setup-ray.sh (or RAY=/path/to/ray).
set -euo pipefail
cd "$(dirname "$0")/.."
derl="$(realpath "${1:-target/release/derl}")"
ray="${RAY:-.venv-ray/bin/ray}"
out="runs/measure-executors"
rm -rf "$out" && mkdir -p "$out"
port=8299
temp="/tmp/derl-measure-ray-$$"

RAY_USAGE_STATS_ENABLED=0 "$ray" start --head --port=0 --dashboard-host=127.0.0.1 \
  --dashboard-port=$port --dashboard-agent-listen-port=0 --num-cpus=2 --num-gpus=0 \
  --include-dashboard=true --disable-usage-stats --temp-dir="$temp" >"$out/ray-start.log" 2>&1
trap '"$ray" stop --force >/dev/null 2>&1 || true; rm -rf "$temp"' EXIT

cp docs/configs/demo.toml "$out/local.toml"
cp docs/configs/demo.toml "$out/ray.toml"
printf '\n[executor]\nkind = "ray"\naddress = "http://127.0.0.1:%s"\nderl = "%s"\n' "$port" "$derl" >>"$out/ray.toml"

echo "| executor | inner loops at once | wall s | speed-up over 1 | parallel efficiency |"
echo "|---|---|---|---|---|"
reference=""
for kind in local ray; do
  one=""
  for workers in 1 2; do
    dir="$out/$kind-$workers"
    start=$(date +%s.%N)
    "$derl" run "$out/$kind.toml" --out "$dir" --workers "$workers" >"$dir.log" 2>&1
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    [ -z "$one" ] && one="$wall"
    if [ -z "$reference" ]; then
      reference="$dir/metrics.jsonl"
    elif ! cmp -s "$reference" "$dir/metrics.jsonl"; then
      echo "error: $dir/metrics.jsonl differs from $reference" >&2
      exit 1
    fi
    python3 -c "import sys; k,w,t,o=sys.argv[1:]; t,o,w=float(t),float(o),int(w); print(f'| {k} | {w} | {t:.1f} | {o/t:.2f}x | {100*o/t/w:.0f}% |')" \
      "$kind" "$workers" "$wall" "$one"
  done
done
echo
echo "every run's metrics.jsonl is byte-identical to $reference"

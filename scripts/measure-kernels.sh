#!/usr/bin/env bash
# Learning with the candle and the fused policy kernels, same jobs and seeds:
# ENVS (default household, lab and arith), STEPS GRPO updates (default 40), SEEDS
# (default 0 1 2), one thread per run, two runs at a time. Appends one line per run to
# OUT/results.tsv. Usage: [ENVS=..] [STEPS=..] [SEEDS=..] bash scripts/measure-kernels.sh
# [DERL_BINARY] [OUT]; summarize with python3 scripts/summarize-kernels.py OUT.
set -euo pipefail
derl="${1:-target/release/derl}"
out="${2:-runs/measure-kernels}"
mkdir -p "$out"
jobs=()
steps="${STEPS:-40}"
for env in ${ENVS:-household lab arith}; do
  case "$env" in
    arith) reward="outcome + 0.5*loose_outcome" ;;
    *) reward="success + 0.5*progress" ;;
  esac
  for seed in ${SEEDS:-0 1 2}; do
    for kernel in candle fused; do
      jobs+=("$env|$reward|$seed|$kernel")
    done
  done
done
run() {
  IFS='|' read -r env reward seed kernel <<<"$1"
  dir="$out/$env-$steps-$kernel-$seed"
  start=$(date +%s.%N)
  "$derl" train --env "$env" --reward "$reward" --steps "$steps" --seed "$seed" \
    --threads 1 --policy "model.kernel=$kernel" --out "$dir" > "$dir.log" 2>&1
  end=$(date +%s.%N)
  echo -e "$env\t$steps\t$kernel\t$seed\t$(echo "$end - $start" | bc)\t$dir"
}
export -f run
export derl out steps
printf '%s\n' "${jobs[@]}" | xargs -P 2 -I{} bash -c 'run "$@"' _ {} | tee -a "$out/results.tsv"

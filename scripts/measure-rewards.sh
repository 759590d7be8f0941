#!/usr/bin/env bash
# Measures how the choice of reward changes what the inner loop learns: for
# each bundled environment, trains a policy with a shaped reward, the outcome
# alone, the equal-weight sum of all primitives, and no training at all (the
# near-uniform initial policy), at the same seed and budget, and prints one
# markdown table of validation and ood success with wall times.
#
# Usage: scripts/measure-rewards.sh [DERL_BINARY] [SEED]
# Environment: ENVS, the environments to measure (default: "household lab arith").
set -euo pipefail
cd "$(dirname "$0")/.."
derl="${1:-target/release/derl}"
seed="${2:-0}"
out="runs/measure-rewards-$seed"
mkdir -p "$out"

# env | updates | shaped reward | outcome | equal-weight sum
cases=(
  "household|150|success + 0.5*progress|success|success + progress + exploration + handled + valid_actions + speed"
  "lab|80|success + 0.5*progress|success|success + progress + exploration + caution + speed"
  "arith|120|outcome + 0.5*loose_outcome|outcome|outcome + format + structure + loose_outcome + progress"
)

echo "| environment | reward | updates | validation (sampled / greedy) | ood (sampled / greedy) | env steps | wall s |"
echo "|---|---|---|---|---|---|---|"
envs=" ${ENVS:-household lab arith} "
for case in "${cases[@]}"; do
  IFS='|' read -r env updates shaped outcome sum <<<"$case"
  [[ "$envs" == *" $env "* ]] || continue
  for kind in shaped outcome sum untrained; do
    case "$kind" in
      shaped) reward="$shaped"; steps="$updates" ;;
      outcome) reward="$outcome"; steps="$updates" ;;
      sum) reward="$sum"; steps="$updates" ;;
      untrained) reward="$outcome"; steps=0 ;;
    esac
    dir="$out/$env-$kind"
    start=$(date +%s.%N)
    "$derl" train --env "$env" --reward "$reward" --steps "$steps" --seed "$seed" \
      --out "$dir" >"$dir.log" 2>&1
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    python3 - "$dir/result.json" "$env" "$kind: $reward" "$steps" "$wall" <<'PY'
import json, sys
path, env, reward, steps, wall = sys.argv[1:]
r = json.load(open(path))
s = {split: (greedy, sampled) for split, greedy, sampled in r["evaluation"]["splits"]}
cell = lambda split: f"{100*s[split][1]:.1f}% / {100*s[split][0]:.1f}%"
print(f"| {env} | {reward} | {steps} | {cell('validation')} | {cell('ood')} | {r['env_steps']} | {float(wall):.0f} |")
PY
  done
done

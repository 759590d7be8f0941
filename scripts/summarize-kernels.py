"""Mean and 95% CI (t over seeds) of validation/test/ood success per environment and
kernel, from the runs of scripts/measure-kernels.sh. Usage: python3 scripts/summarize-kernels.py DIR"""
import json
import statistics
import sys
from pathlib import Path

T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
       2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086]
root = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/measure-kernels")
rows = {}
for line in (root / "results.tsv").read_text().splitlines():
    env, steps, kernel, seed, seconds, run = line.split("\t")
    env = f"{env} ({steps} updates)"
    result = json.loads((Path(run) / "result.json").read_text())
    splits = {name: (greedy, sampled) for name, greedy, sampled in result["evaluation"]["splits"]}
    rows.setdefault((env, kernel), []).append((int(seed), float(seconds), splits))


def seed_list(runs):
    seeds = [seed for seed, _, _ in runs]
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def mean_ci(values):
    mean = statistics.mean(values)
    if len(values) < 2:
        return f"{100 * mean:.1f}"
    half = (T95[len(values) - 2] if len(values) - 2 < len(T95) else 1.96) * statistics.stdev(values) / len(values) ** 0.5
    return f"{100 * mean:.1f} ± {100 * half:.1f}"


print("| environment | kernel | seeds | learned (validation sampled > 30%) | wall s (mean) | validation greedy | validation sampled | test sampled | ood sampled |")
print("|---|---|---|---|---|---|---|---|---|")
for (env, kernel), runs in sorted(rows.items(), key=lambda item: (item[0][0], item[0][1])):
    runs.sort()
    pick = lambda split, mode: [splits[split][mode] for _, _, splits in runs]
    print(
        f"| {env} | {kernel} | {seed_list(runs)} "
        f"| {sum(splits['validation'][1] > 0.3 for _, _, splits in runs)}/{len(runs)} "
        f"| {statistics.mean(s for _, s, _ in runs):.1f} "
        f"| {mean_ci(pick('validation', 0))} | {mean_ci(pick('validation', 1))} "
        f"| {mean_ci(pick('test', 1))} | {mean_ci(pick('ood', 1))} |"
    )

print()
print("Paired by seed, fused minus candle (mean ± t-95% CI, points of sampled success):")
print()
print("| environment | seeds | validation | test | ood |")
print("|---|---|---|---|---|")
for env in sorted({env for env, _ in rows}):
    if (env, "candle") not in rows or (env, "fused") not in rows:
        continue
    by_seed = {kernel: {seed: splits for seed, _, splits in rows[(env, kernel)]} for kernel in ("candle", "fused")}
    seeds = sorted(set(by_seed["candle"]) & set(by_seed["fused"]))
    cells = []
    for split in ("validation", "test", "ood"):
        differences = [by_seed["fused"][s][split][1] - by_seed["candle"][s][split][1] for s in seeds]
        cells.append(mean_ci(differences))
    print(f"| {env} | {len(seeds)} | {' | '.join(cells)} |")

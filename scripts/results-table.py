#!/usr/bin/env python3
"""Markdown results of finished `derl run` directories, for the README.

Usage: scripts/results-table.py RUN_DIR [RUN_DIR ...]

For each run: one row per method with its best program, final success on every
split (mean +- std over the final seeds), the environment steps of the search and
of the final evaluation, and the wall time of its inner loops (from
timings.jsonl). Then, per search method, the group's mean and best score per
outer iteration, and how many search environment steps DERL-pop and evolution
spent before first reaching DERL's best search score.
"""

import json
import sys
from collections import defaultdict
from pathlib import Path


def rows(path):
    if not path.exists():
        return []
    with path.open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


def steps_to_reach(metrics, method, target):
    """Search env steps `method` spent until a program first scored >= target."""
    spent = 0
    for row in metrics:
        if row["phase"] != "search" or row["method"] != method:
            continue
        spent += 0 if row["cached"] else row["env_steps"]
        if row["valid"] and row["score"] >= target:
            return spent
    return None


def human(steps):
    return f"{steps / 1e6:.2f}M" if steps >= 1e6 else f"{steps / 1e3:.0f}k"


def report(run):
    summary = json.loads((run / "summary.json").read_text())
    metrics = rows(run / "metrics.jsonl")
    trajectory = rows(run / "trajectory.jsonl")
    wall = defaultdict(float)
    for row in rows(run / "timings.jsonl"):
        if row.get("method"):
            wall[row["method"]] += row["wall_seconds"]
    splits = [s["split"] for s in summary["methods"][0]["splits"]]
    out = [f"#### {summary['env']} (`{run}`)", ""]
    out.append(
        "| method | best program | "
        + " | ".join(splits)
        + " | search steps | final steps | inner-loop wall |"
    )
    out.append("|---" * (len(splits) + 5) + "|")
    for method in summary["methods"]:
        cells = [f"{s['mean']:.3f} ± {s['std']:.3f}" for s in method["splits"]]
        out.append(
            f"| {method['method']} | `{method['program']}` | "
            + " | ".join(cells)
            + f" | {human(method['search_env_steps'])} | {human(method['final_env_steps'])}"
            + f" | {wall[method['method']] / 60:.1f} min |"
        )
    out.append("")
    by_method = defaultdict(list)
    for row in trajectory:
        by_method[row["method"]].append(row)
    for method, its in by_method.items():
        its.sort(key=lambda r: r["iteration"])
        means = ", ".join(f"{r['mean']:.3f}" for r in its)
        bests = ", ".join(f"{r['best']:.3f}" for r in its)
        out.append(f"- {method}: group mean per iteration {means}; best {bests}")
    derl_best = max((r["best"] for r in by_method.get("derl", [])), default=None)
    if derl_best is not None:
        derl_steps = steps_to_reach(metrics, "derl", derl_best)
        out.append(
            f"- search steps to first reach DERL's best score {derl_best:.3f}: "
            + ", ".join(
                f"{m} {human(s) if s is not None else 'never'}"
                for m in by_method
                for s in [derl_steps if m == "derl" else steps_to_reach(metrics, m, derl_best)]
            )
        )
    out.append("")
    return "\n".join(out)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    print("\n".join(report(Path(arg)) for arg in argv[1:]))


if __name__ == "__main__":
    main(sys.argv)

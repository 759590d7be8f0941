"""Benchmarks of the derl Python package, each against its baseline in the
same run (BENCHMARKS.md, "From Python"):

1. ``MetaReward`` on 1,024 completions against the DERL reference's method:
   the same four math primitives computed in plain Python with ``re``, and the
   Meta-Reward string run with ``eval`` per sample.
2. ``PythonReward`` (the same Meta-Reward as a Python module compiled into a
   sandboxed component) per batch of 1,024.
3. ``derl.make``'s Gymnasium wrapper against the extension's raw environment
   calls (the host without the wrapper), steps per second on household.

    python python/benchmarks/bench.py [--repeat 7] [--componentize-py PATH]

Build the package in release first (``pip install ./python``): a dev build
measures unoptimised code.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time

import numpy as np

import derl
from derl import _derl

PROGRAM = "outcome + 0.5*format + 0.25*reasoning + 0.125*loose_outcome"
LOOP_SOURCE = "def reward(primitives):\n    while True:\n        pass\n"
PYTHON_SOURCE = '''
def reward(primitives):
    return primitives[0] + 0.5 * primitives[1] + 0.25 * primitives[2] + 0.125 * primitives[3]
'''


# --- the reference's method, in plain Python (definitions as in its
# meta_reward_grpo.py: final answer, boxed format, step patterns, loose match)

def _boxed(text):
    if "\\boxed " in text:
        return text.split("\\boxed ")[-1].split("$")[0]
    at = text.rfind("\\boxed")
    if at < 0:
        return ""
    depth = 0
    for i in range(at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                inner = text[at:i + 1]
                return inner[len("\\boxed{"):-1] if inner.startswith("\\boxed{") else ""
    return ""


def _answer(text):
    if "####" in text:
        found = re.search("#### (\\-?[0-9\\.\\,]+)", text)
        return found.group(1).replace(",", "") if found else ""
    if "\\boxed{" in text:
        return _boxed(text)
    return text


def reference_primitives(completion, reference):
    g1 = 1.0 if _answer(completion) == _answer(reference) else 0.0
    g2 = 1.0 if "\\boxed{" in completion else 0.0
    steps = (
        len(re.findall(r"\b\d+\.\s+", completion)) >= 2
        or len(re.findall(r"\bstep\s*\d+", completion, re.IGNORECASE)) >= 2
    )
    g3 = 1.0 if steps else 0.0
    g4 = 1.0 if _answer(reference) in completion else 0.0
    return g1, g2, g3, g4


def reference_scores(completions, references, program):
    expression = program.replace("outcome", "g1").replace("loose_g1", "g4").replace("format", "g2").replace("reasoning", "g3")
    scores = []
    for completion, reference in zip(completions, references):
        g1, g2, g3, g4 = reference_primitives(completion, reference)
        scores.append(eval(expression, {}, {"g1": g1, "g2": g2, "g3": g3, "g4": g4}))
    return scores


def corpus(n, seed=0):
    """Completions of the kinds a math policy writes, 150 to 600 bytes."""
    rng = random.Random(seed)
    completions, references = [], []
    for _ in range(n):
        a, b = rng.randint(1, 999), rng.randint(1, 999)
        answer = a + b
        steps = rng.randint(0, 4)
        body = "".join(
            f"Step {k + 1}: we add the {['units', 'tens', 'hundreds', 'carries'][k]} of {a} and {b}.\n"
            for k in range(steps)
        )
        guess = answer if rng.random() < 0.6 else answer + rng.randint(1, 9)
        ending = rng.choice([f"So the answer is \\boxed{{{guess}}}.", f"#### {guess}", f"The sum is {guess}."])
        filler = " Let me double-check the arithmetic carefully." * rng.randint(1, 8)
        completions.append(f"We need {a} + {b}.{filler}\n{body}{ending}")
        references.append(str(answer) if rng.random() < 0.5 else f"{a} + {b} = {answer}\n#### {answer}")
    return completions, references


def best_of(repeat, call):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--componentize-py", default=None)
    args = parser.parse_args()
    completions, references = corpus(args.samples)
    n = len(completions)

    meta = derl.MetaReward(PROGRAM)
    ours = meta.score(completions, references)
    theirs = reference_scores(completions, references, PROGRAM)
    agree = sum(abs(x - y) < 1e-12 for x, y in zip(ours, theirs))
    derl_best, derl_median = best_of(args.repeat, lambda: meta.score(completions, references))
    ref_best, ref_median = best_of(args.repeat, lambda: reference_scores(completions, references, PROGRAM))
    print(f"MetaReward, {n} completions (mean {sum(map(len, completions)) / n:.0f} bytes):")
    print(f"  derl (sandboxed, one batch)   {derl_best * 1e6 / n:8.2f} us/sample (median {derl_median * 1e6 / n:.2f})")
    print(f"  reference (Python re + eval)  {ref_best * 1e6 / n:8.2f} us/sample (median {ref_median * 1e6 / n:.2f})")
    print(f"  ratio derl / reference        {derl_best / ref_best:8.2f}x; scores agree on {agree}/{n}")

    try:
        python = derl.PythonReward(PYTHON_SOURCE, componentize_py=args.componentize_py)
    except derl.BuildError as error:
        print(f"PythonReward: skipped ({error})")
    else:
        assert python.score(completions, references) == ours
        py_best, py_median = best_of(args.repeat, lambda: python.score(completions, references))
        print(f"PythonReward, batch of {n}: {py_best * 1e3:.1f} ms per batch (median {py_median * 1e3:.1f}), "
              f"{py_best * 1e6 / n:.1f} us/sample; {py_best / derl_best:.2f}x the MetaReward")
        loop = derl.PythonReward(LOOP_SOURCE, componentize_py=args.componentize_py)
        started = time.perf_counter()
        try:
            loop.score(completions[:1], references[:1])
        except derl.DerlError as error:
            print(f"PythonReward with `while True`: {type(error).__name__} after {time.perf_counter() - started:.2f} s")

    env = derl.make("household")
    rng = np.random.default_rng(0)

    def wrapper_steps():
        env.reset(seed=0)
        for _ in range(args.steps):
            actions = len(env._actions)
            _, _, terminated, truncated, _ = env.step(int(rng.integers(actions)))
            if terminated or truncated:
                env.reset()

    core = _derl.EnvCore("household", [], None, 0)
    count = core.task_count("train")

    def core_steps():
        _, _, actions, _ = core.reset("train", 0, 0)
        for i in range(args.steps):
            (_, _, actions, _), _, terminated, truncated, _ = core.step(int(rng.integers(len(actions))))
            if terminated or truncated:
                _, _, actions, _ = core.reset("train", i % count, i)

    wrap_best, _ = best_of(3, wrapper_steps)
    core_best, _ = best_of(3, core_steps)
    print(f"household, {args.steps} random steps:")
    print(f"  gymnasium wrapper (derl.make)  {args.steps / wrap_best:10.0f} steps/s")
    print(f"  raw extension calls            {args.steps / core_best:10.0f} steps/s")
    print(f"  wrapper / raw                  {core_best / wrap_best:10.2f}")


if __name__ == "__main__":
    main()

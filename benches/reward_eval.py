"""CPython baseline for `cargo bench -p derl --bench rewards`.

Scores the same batches as the Rust bench the way the DERL authors' code
does: one `eval(program_string, {"__builtins__": None}, values)` per sample,
where `values` is a dict `{"g1": ..., "gN": ...}` built for that sample. Also
reports `eval` of a pre-compiled code object (CPython's best case for the
same approach) and, when given, a Python reward module's `reward(row)` per
sample (native CPython, for comparison with the same module as a component).

Usage: python3 benches/reward_eval.py SPEC.json

SPEC.json: {
  "values": "path to little-endian f64 values, row-major",
  "stride": 6,                      # primitives per episode
  "batches": [256, 4096],           # episodes per batch (first rows)
  "programs": [{"name": "P1", "python": "g1"}, ...],
  "runs": 5,                        # timed runs; the median is reported
  "min_seconds": 0.05,              # each run repeats the batch this long
  "reward_module": "path/to/reward.py"   # optional
}

Prints one JSON object per line on stdout: program (name or
"reward_module"), mode ("eval-string", "eval-code" or "reward-module"),
rows, seconds_per_batch (median over runs), and checksum_bits (the IEEE-754
bits, as 16 hex digits, of the left-to-right sum of the batch's scores).
"""

import importlib.util
import json
import statistics
import struct
import sys
import time

# `min`, `max` and `abs` are handed to programs that use them; the authors'
# globals hold only `{"__builtins__": None}`, which is the same for programs
# without them.
GLOBALS = {"__builtins__": None, "min": min, "max": max, "abs": abs}


def load_values(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) % 8:
        raise SystemExit(f"{path}: {len(data)} bytes is not a whole number of f64")
    return list(struct.unpack(f"<{len(data) // 8}d", data))


def checksum_bits(scores):
    total = 0.0
    for s in scores:
        total += s
    return struct.pack(">d", total).hex()


def timed(score_batch, runs, min_seconds):
    """Median seconds per batch over `runs` runs of at least `min_seconds`."""
    samples = []
    for _ in range(runs):
        repeats = 0
        started = time.perf_counter()
        while True:
            score_batch()
            repeats += 1
            elapsed = time.perf_counter() - started
            if elapsed >= min_seconds:
                break
        samples.append(elapsed / repeats)
    return statistics.median(samples)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    stride = spec["stride"]
    values = load_values(spec["values"])
    names = [f"g{i + 1}" for i in range(stride)]
    runs, min_seconds = spec["runs"], spec["min_seconds"]

    def emit(program, mode, rows, seconds, scores):
        print(json.dumps({
            "program": program,
            "mode": mode,
            "rows": rows,
            "seconds_per_batch": seconds,
            "checksum_bits": checksum_bits(scores),
        }), flush=True)

    for rows in spec["batches"]:
        if rows * stride > len(values):
            raise SystemExit(f"{rows} rows of {stride} need more than {len(values)} values")
        batch = [values[r * stride:(r + 1) * stride] for r in range(rows)]
        for program in spec["programs"]:
            source = program["python"]
            code = compile(source, "<program>", "eval")

            def with_string():
                return [eval(source, GLOBALS, dict(zip(names, row))) for row in batch]

            def with_code():
                return [eval(code, GLOBALS, dict(zip(names, row))) for row in batch]

            for mode, score_batch in (("eval-string", with_string), ("eval-code", with_code)):
                scores = [float(s) for s in score_batch()]
                emit(program["name"], mode, rows, timed(score_batch, runs, min_seconds), scores)

        module_path = spec.get("reward_module")
        if module_path:
            loader = importlib.util.spec_from_file_location("bench_reward", module_path)
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
            reward = module.reward
            flat = values[:rows * stride]

            # As the generated adapter does: one `reward(slice)` per episode.
            def with_module():
                return [float(reward(flat[s:s + stride])) for s in range(0, len(flat), stride)]

            emit("reward_module", "reward-module", rows,
                 timed(with_module, runs, min_seconds), with_module())


if __name__ == "__main__":
    main()

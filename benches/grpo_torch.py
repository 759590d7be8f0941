#!/usr/bin/env python3
"""The PyTorch side of the candle-vs-PyTorch GRPO update benchmark.

Reads the batch, initial weights and candle timings that
`cargo bench -p derl-learn --bench grpo -- --export DIR` wrote, runs the same GRPO step
(forward, clipped-surrogate loss, backward, global-norm clipping, AdamW) with the same
architecture, batch and thread count in PyTorch on CPU, checks that the first step agrees
with candle's numbers, and prints the timings and the candle / PyTorch ratio.

Both sides run with glibc keeping freed memory for reuse (`derl_learn::allocator` in the
bench, `keep_freed_memory` here), as `derl` runs: otherwise every large tensor is a fresh
`mmap` whose pages fault in again, which doubles both sides' times.

Usage (after benches/setup-torch-venv.sh):
    RAYON_NUM_THREADS=1 cargo bench -p derl-learn --bench grpo -- --export "$PWD/target/grpo-bench"
    target/torch-venv/bin/python benches/grpo_torch.py target/grpo-bench
"""

import argparse
import ctypes
import json
import os
import struct
import time
from pathlib import Path

import torch

SAFETENSORS_DTYPES = {"F32": torch.float32, "U32": torch.int32, "I64": torch.int64}


def read_safetensors(path):
    """Minimal safetensors reader (8-byte header length, JSON header, raw little-endian data)."""
    data = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    body = bytearray(data[8 + header_len :])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = SAFETENSORS_DTYPES[info["dtype"]]
        tensor = torch.frombuffer(body[start:end], dtype=dtype).reshape(info["shape"])
        # u32 indices are below 2^31 here; torch indexes with int64.
        tensors[name] = tensor.long() if info["dtype"] == "U32" else tensor.clone()
    return tensors


MASKED_LOGIT = -1e9


def policy_log_probs(params, part, embedding_bag):
    """Mirrors derl_learn::ActionPolicy::distributions_of + segments::evaluate_rows."""
    observations, texts = part["observations"], part["observations"] + part["actions_distinct"]
    if embedding_bag:
        # The idiomatic PyTorch embedding bag: one fused kernel per direction.
        counts = torch.bincount(part["text_of_id"], minlength=texts)
        offsets = torch.cumsum(counts, 0) - counts
        bags = torch.nn.functional.embedding_bag(
            part["ids"],
            params["embedding"],
            offsets,
            mode="sum",
            per_sample_weights=part["id_weight"].squeeze(1),
        )
    else:
        # The same op sequence as candle: index_select, scale, index_add.
        features = params["embedding"].index_select(0, part["ids"]) * part["id_weight"]
        bags = torch.zeros(texts, params["embedding"].shape[1]).index_add(
            0, part["text_of_id"], features
        )
    observation, action = bags[:observations], bags[observations:]
    hidden_observation = observation @ params["hidden.observation"]
    hidden_action = action @ params["hidden.action"] + params["hidden.bias"]
    po, pa = part["pair_observation"], part["pair_action"]
    interaction = observation.index_select(0, po) * action.index_select(0, pa)
    hidden = interaction @ params["hidden.interaction"] + hidden_observation.index_select(0, po)
    hidden = torch.relu(hidden + hidden_action.index_select(0, pa))
    logits = (hidden @ params["output"]).squeeze(1)
    padded = torch.cat([logits, logits.new_full((1,), MASKED_LOGIT)])
    padded = padded.index_select(0, part["gather_index"]).view(-1, part["width"])
    log_probs = torch.log_softmax(padded, dim=1)
    chosen = log_probs.gather(1, part["actions"].unsqueeze(1)).squeeze(1)
    entropy = -(log_probs.exp() * log_probs).sum(1)
    return chosen, entropy


PER_DECISION = ("actions", "sampled_log_probs", "advantages", "loss_weights")
PREPARED = ("ids", "text_of_id", "id_weight", "pair_observation", "pair_action", "gather_index")


def split_parts(tensors, meta):
    """The whole batch as one part, and its micro-batches (prepared separately in Rust)."""
    whole = {name: tensors[name] for name in PER_DECISION + PREPARED}
    whole.update(
        observations=meta["distinct_observations"],
        actions_distinct=meta["distinct_actions"],
        width=meta["width"],
    )
    micro = []
    index = 0
    while f"micro{index}.shape" in tensors:
        observations, actions, width, base, length = tensors[f"micro{index}.shape"].tolist()
        part = {name: tensors[f"micro{index}.{name}"] for name in PREPARED}
        part.update({name: tensors[name][base : base + length] for name in PER_DECISION})
        part.update(observations=observations, actions_distinct=actions, width=width)
        micro.append(part)
        index += 1
    return whole, micro


def grpo_step(params, optimizer, parts, grpo, embedding_bag):
    """One optimizer step; gradients accumulate over `parts` (one part: a single pass)."""
    low = 1.0 - grpo["clip_epsilon"]
    high = 1.0 + (grpo["clip_epsilon_high"] or grpo["clip_epsilon"])
    optimizer.zero_grad(set_to_none=True)
    stats = {"loss": 0.0, "log_prob_sum": 0.0, "entropy_sum": 0.0}
    for part in parts:
        chosen, entropy = policy_log_probs(params, part, embedding_bag)
        ratio = torch.exp(chosen - part["sampled_log_probs"])
        advantages = part["advantages"]
        surrogate = torch.minimum(ratio * advantages, ratio.clamp(low, high) * advantages)
        loss = -(surrogate * part["loss_weights"]).sum()
        loss.backward()
        stats["loss"] += loss.item()
        stats["log_prob_sum"] += chosen.sum().item()
        stats["entropy_sum"] += entropy.sum().item()
    grad_norm = torch.nn.utils.clip_grad_norm_(list(params.values()), grpo["max_grad_norm"])
    optimizer.step()
    stats["grad_norm"] = grad_norm.item()
    return stats


def timed(repeats, run):
    """Median and minimum wall time and median CPU time of this thread, in ms."""
    run()
    walls, cpus = [], []
    for _ in range(repeats):
        cpu_started, started = time.thread_time(), time.perf_counter()
        run()
        walls.append(time.perf_counter() - started)
        cpus.append(time.thread_time() - cpu_started)
    walls.sort()
    cpus.sort()
    return walls[len(walls) // 2] * 1e3, walls[0] * 1e3, cpus[len(cpus) // 2] * 1e3


def keep_freed_memory():
    """glibc's mallopt as derl_learn::allocator sets it, unless the environment sets it."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        libc.mallopt(m_mmap_threshold, 512 << 20)
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        libc.mallopt(m_trim_threshold, 1 << 30)


def main():
    keep_freed_memory()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    meta = json.loads((args.export_dir / "meta.json").read_text())
    threads = meta["threads"]
    torch.set_num_threads(threads)
    whole, micro = split_parts(read_safetensors(args.export_dir / "batch.safetensors"), meta)
    initial = read_safetensors(args.export_dir / "weights.safetensors")
    grpo = meta["grpo"]
    single = threads == 1

    print(
        f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s) "
        f"(candle ran with {threads}); {meta['decisions']} decisions, {meta['pairs']} pairs"
    )
    variants = [
        ("one pass, index_select + index_add", [whole], False, "tensor_step_8192"),
        ("one pass, embedding_bag (as candle)", [whole], True, "tensor_step_8192"),
        (f"{len(micro)} micro-batches, embedding_bag", micro, True, "update_8192_micro"),
    ]
    rows = []
    for name, parts, embedding_bag, candle_key in variants:
        params = {key: t.clone().requires_grad_(True) for key, t in initial.items()}
        optimizer = torch.optim.AdamW(
            list(params.values()),
            lr=grpo["learning_rate"],
            betas=(grpo["adam_beta1"], grpo["adam_beta2"]),
            eps=grpo["adam_epsilon"],
            weight_decay=grpo["weight_decay"],
        )
        first = grpo_step(params, optimizer, parts, grpo, embedding_bag)
        if name.startswith("one pass, index_select"):
            candle = meta["candle_first_step"]
            print("first step from the same initial weights (candle, PyTorch):")
            for key in ("log_prob_sum", "entropy_sum", "loss", "grad_norm"):
                print(f"  {key:<13} {candle[key]: .6e}  {first[key]: .6e}")
        median, best, cpu = timed(
            args.repeats, lambda: grpo_step(params, optimizer, parts, grpo, embedding_bag)
        )
        rows.append((name, median, best, cpu, "candle", meta["candle_ms"][candle_key]))
        # The same computation on derl's fused kernel, where the export has it (the one-pass
        # step's fused twin is `fused_step_8192`; the trainer's is `<key>_fused`).
        fused_key = "fused_step_8192" if candle_key == "tensor_step_8192" else f"{candle_key}_fused"
        if fused_key in meta["candle_ms"]:
            rows.append((name, median, best, cpu, "fused", meta["candle_ms"][fused_key]))

    print(f"\n{'one GRPO step on the fixed batch':<34} {'PyTorch':>30}   {'kernel':<11} {'derl':>30}   ratio")
    unit = "median / min / cpu ms" if single else "median / min ms"
    print(f"{'':<34} {unit:>30}   {'':<11} {unit:>30}   derl/PyTorch")
    for name, median, best, cpu, kernel, candle in rows:
        torch_text = f"{median:8.1f} / {best:8.1f}" + (f" / {cpu:8.1f}" if single else "")
        candle_text = f"{candle['median_ms']:8.1f} / {candle['min_ms']:8.1f}" + (
            f" / {candle['cpu_median_ms']:8.1f}" if single else ""
        )
        key, ours = ("cpu", candle["cpu_median_ms"] / cpu) if single else ("median", candle["median_ms"] / median)
        print(f"{name:<34} {torch_text:>30}   {kernel:<11} {candle_text:>30}   {ours:.2f}x ({key})")
    print(
        "(derl's micro-batched figures are GrpoTrainer::update, which also prepares each "
        "micro-batch from the decisions, and the fused one-pass step flattens its batch; PyTorch starts from prepared tensors)"
    )


if __name__ == "__main__":
    main()

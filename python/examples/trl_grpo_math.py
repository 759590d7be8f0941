"""Train a language model with TRL's GRPOTrainer on a sandboxed Meta-Reward.

The reward is a derl Meta-Reward over the bundled math extractor's four
primitives (outcome, format, reasoning, loose_outcome), run in WebAssembly
under hard limits: a completion that makes the extractor misbehave gets a
typed error (or, here, a penalty with the reason recorded), never a hang and
never a silent 0.

    pip install ./python trl datasets torch transformers
    python python/examples/trl_grpo_math.py --tiny        # a tiny random model, built locally
    python python/examples/trl_grpo_math.py --model Qwen/Qwen2.5-0.5B-Instruct

``--tiny`` builds a two-layer GPT-2 with a character tokenizer in memory (no
download), to check the plumbing end to end on a CPU in a minute; it learns
nothing useful. The dataset is generated: sums of two small numbers, the
reference answer in a column named ``answer`` (where derl looks for it).
"""

from __future__ import annotations

import argparse
import random

import derl

PROGRAM = "outcome + 0.5*format + 0.25*reasoning"


def arithmetic_dataset(n: int, seed: int):
    from datasets import Dataset

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.randint(0, 49), rng.randint(0, 49)
        rows.append({"prompt": f"What is {a} + {b}? Answer in \\boxed{{}}.", "answer": str(a + b)})
    return Dataset.from_list(rows)


def tiny_model_and_tokenizer():
    """A small random GPT-2 and a character-level tokenizer, built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    alphabet = sorted(set("0123456789+-=?.,:; \\{}()abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n"))
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2}
    for ch in alphabet:
        vocab.setdefault(ch, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )
    tokenizer.padding_side = "left"
    config = GPT2Config(
        vocab_size=len(vocab), n_positions=256, n_embd=64, n_layer=2, n_head=2,
        bos_token_id=1, eos_token_id=1, pad_token_id=0,
    )
    return GPT2LMHeadModel(config), tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="a Hugging Face model id or path")
    parser.add_argument("--tiny", action="store_true", help="a tiny random model built locally (no download)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--output", default="runs/trl-grpo-math")
    args = parser.parse_args()
    if not args.tiny and args.model is None:
        parser.error("give --model or --tiny")

    from trl import GRPOConfig, GRPOTrainer

    reward = derl.MetaReward(PROGRAM, primitives="math", on_error=-1.0, name="derl_math")
    if args.tiny:
        model, tokenizer = tiny_model_and_tokenizer()
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(args.model)
        tokenizer = AutoTokenizer.from_pretrained(args.model)
    config = GRPOConfig(
        output_dir=args.output,
        max_steps=args.steps,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=32,
        logging_steps=1,
        report_to=[],
        use_cpu=args.tiny,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=config,
        train_dataset=arithmetic_dataset(64, seed=0),
        processing_class=tokenizer,
    )
    trainer.train()
    print("last batch's primitives:", reward.last_primitives[:2])
    print("failed samples in the last batch:", reward.last_errors)


if __name__ == "__main__":
    main()

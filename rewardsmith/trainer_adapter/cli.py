"""The `rewardsmith train` subcommand: arguments and handler (the main CLI only registers it).

Precedence: defaults < `--config FILE` < flags (`--steps 20`) < dotted overrides (`grpo.beta=0.04`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rewardsmith.core.errors import ConfigError

# flag dest → dotted config key
_FLAG_KEYS = {
    "name": "name",
    "output_dir": "output_dir",
    "model": "model",
    "device": "device",
    "seed": "seed",
    "task": "dataset.task",
    "dataset": "dataset.path",
    "steps": "grpo.steps",
    "num_generations": "grpo.num_generations",
    "batch_size": "grpo.batch_size",
    "lr": "grpo.learning_rate",
    "max_completion_length": "grpo.max_completion_length",
    "beta": "grpo.beta",
    "use_vllm": "grpo.use_vllm",
    "lora_r": "lora.r",
    "report_to": "grpo.report_to",
    "save_steps": "grpo.save_steps",
    "overwrite": "overwrite",
}


def add_train_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="GRPO with LoRA on rewardsmith rewards (TRL GRPOTrainer)",
        description=(
            "Train with GRPO + LoRA. With no arguments: the embedded SmolLM2-135M on a generated arithmetic "
            "task, on CPU. Settings come from --config (YAML/JSON), then flags, then KEY=VALUE overrides "
            "(sections: name, output_dir, model, device, seed, reward_name, dataset.*, rewards, grpo.*, lora.*)."
        ),
    )
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. grpo.steps=20 lora.r=8 grpo.beta=0.04")
    p.add_argument("--config", metavar="FILE", help="YAML or JSON file of settings")
    p.add_argument("--model", help="'smollm2-135m' (embedded, default), a checkpoint folder, or a hub id")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="auto: CUDA (bf16) when present, else CPU")
    p.add_argument(
        "--reward",
        action="append",
        metavar="SPEC[@WEIGHT]",
        help="a reward SPEC with an optional weight, repeatable (replaces the default composite)",
    )
    p.add_argument("--dataset", metavar="PATH", help="JSONL/JSON file, save_to_disk folder, or cached HF dataset name")
    p.add_argument("--task", choices=["arithmetic"], help="a built-in generated task")
    # TRL's own flag names work too (--max_steps, --learning_rate, --per_device_train_batch_size, ...)
    p.add_argument("--steps", "--max-steps", "--max_steps", dest="steps", type=int, help="optimizer steps")
    p.add_argument(
        "--num-generations",
        "--num_generations",
        dest="num_generations",
        type=int,
        help="completions per prompt (the GRPO group)",
    )
    p.add_argument(
        "--batch-size",
        "--per-device-train-batch-size",
        "--per_device_train_batch_size",
        dest="batch_size",
        type=int,
        help="completions per device per step",
    )
    p.add_argument("--lr", "--learning-rate", "--learning_rate", dest="lr", type=float, help="learning rate")
    p.add_argument(
        "--max-completion-length",
        "--max_completion_length",
        dest="max_completion_length",
        type=int,
        help="tokens per completion",
    )
    p.add_argument("--report-to", "--report_to", dest="report_to", help="trl.GRPOConfig.report_to (e.g. wandb)")
    p.add_argument("--save-steps", "--save_steps", dest="save_steps", type=int, help="save a checkpoint every N steps")
    p.add_argument("--overwrite", action="store_true", default=None, help="replace an existing run of the same name")
    p.add_argument("--beta", type=float, help="KL coefficient")
    p.add_argument("--lora-r", type=int, help="LoRA rank")
    p.add_argument("--use-vllm", action="store_true", default=None, help="generate with vLLM (GPU, needs vllm)")
    p.add_argument("--seed", type=int)
    p.add_argument("--name", help="run name: outputs go to OUTPUT_DIR/NAME")
    p.add_argument("--output-dir", "--output_dir", dest="output_dir", help="parent folder of runs (default: runs)")
    p.add_argument("--quiet", action="store_true", help="no per-step progress lines")
    return p


def parse_reward_flag(text: str) -> dict[str, Any]:
    """`SPEC@2.0` → {spec, weight}; an `@` not followed by a number stays part of the SPEC."""
    spec, at, weight = text.rpartition("@")
    if at:
        try:
            return {"spec": spec, "weight": float(weight)}
        except ValueError:
            pass
    return {"spec": text, "weight": 1.0}


def config_from_args(args: argparse.Namespace) -> Any:
    from rewardsmith.trainer_adapter.config import load_config

    fields = {key: getattr(args, dest) for dest, key in _FLAG_KEYS.items() if getattr(args, dest) is not None}
    if args.reward:
        fields["rewards"] = [parse_reward_flag(r) for r in args.reward]
    if args.dataset is not None and args.task is None:
        fields["dataset.task"] = None
    if args.quiet:
        fields["progress"] = False
    for item in args.overrides:
        if "=" not in item:
            raise ConfigError(f"unexpected argument {item!r}: overrides are KEY=VALUE, e.g. grpo.steps=20")
    return load_config(args.config, args.overrides, **fields)


def cmd_train(args: argparse.Namespace) -> int:
    from rewardsmith.trainer_adapter.train import require_train_extra, train

    require_train_extra()
    config = config_from_args(args)
    result = train(config)
    print(f"first step mean reward: {result.first_reward:.3f}")
    print(f"last step mean reward:  {result.last_reward:.3f}")
    print(
        f"mean over first/last quarter ({max(1, result.steps // 4)} steps): "
        f"{result.first_quarter_reward:.3f} → {result.last_quarter_reward:.3f}"
    )
    if result.eval_before and result.eval_after:
        before, after = result.eval_before, result.eval_after
        parts = ", ".join(f"{k} {before['parts'][k]:.2f} → {after['parts'].get(k, 0.0):.2f}" for k in before["parts"])
        print(
            f"held-out ({after['n']} problems, greedy): mean reward {before['mean']:.3f} → {after['mean']:.3f}"
            + (f" ({parts})" if parts else "")
        )
    print(f"reward curve: {result.plot_path}")
    print(f"metrics:      {result.metrics_path}")
    print(f"LoRA adapter: {result.adapter_path}")
    sys.stdout.flush()
    return 0

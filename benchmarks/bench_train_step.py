"""Reward computation time as a share of the GRPO step time (TRL GRPOTrainer + LoRA, embedded SmolLM2-135M).

Runs a few real GRPO steps of the demo setup with the reward wrapped in a timer, then re-times each
part of the composite alone on the completions the model actually produced. The anchor is the GRPO
step itself (generation + loss + backward), measured in the same run, so the share is comparable across
machines even though absolute figures are not (other processes share the cores).

    .venv/bin/python benchmarks/bench_train_step.py [--steps 4] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

from rewardsmith.core.engine import cpu_count
from rewardsmith.trainer_adapter.config import load_config
from rewardsmith.trainer_adapter.train import build_reward, build_trainer
from rewardsmith.trainer_adapter.trl import TrlReward


class TimedReward(TrlReward):
    """`to_trl` plus a stopwatch and a copy of the completions it saw (a module-level class: picklable)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds: list[float] = []
        self.batches: list[dict[str, Any]] = []

    def __call__(self, prompts=None, completions=None, completion_ids=None, **kwargs):  # type: ignore[override]
        started = time.perf_counter()
        out = super().__call__(prompts=prompts, completions=completions, completion_ids=completion_ids, **kwargs)
        self.seconds.append(time.perf_counter() - started)
        columns = {k: v for k, v in kwargs.items() if k not in ("trainer_state", "log_metric", "log_extra")}
        self.batches.append({"prompts": prompts, "completions": completions, **columns})
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--reps", type=int, default=5, help="repetitions when re-timing each part")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(
            overrides=[f"output_dir={tmp}", "name=bench", f"device={opts.device}", f"grpo.steps={opts.steps}"]
        )
        timed = TimedReward(build_reward(config), config.reward_name)
        built = build_trainer(config, reward_funcs=[timed])
        rows: list[dict[str, Any]] = []

        from transformers import TrainerCallback
        from transformers.trainer_callback import PrinterCallback

        class Keep(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kwargs):
                if logs and "step_time" in logs:
                    rows.append(logs)

        built.trainer.remove_callback(PrinterCallback)  # TRL's per-step log dicts: the table says enough
        built.trainer.add_callback(Keep())
        built.trainer.train()

    # the first step pays one-off costs (worker start-up, lazy imports): report it apart
    step_times = [r["step_time"] for r in rows]
    reward_times = timed.seconds
    table = []
    for i, (step, rew) in enumerate(zip(step_times, reward_times, strict=False)):
        table.append((f"step {i + 1}", step, rew, rew / step))
    warm = list(zip(step_times[1:], reward_times[1:], strict=False)) or list(
        zip(step_times, reward_times, strict=False)
    )
    mean_step = statistics.mean(s for s, _ in warm)
    mean_reward = statistics.mean(r for _, r in warm)

    print(
        f"# GRPO step vs reward time, {config.grpo.batch_size} completions/step, device {built.device}, "
        f"{cpu_count()} cores (os.cpu_count={os.cpu_count()})"
    )
    print(f"{'':<22}{'step s':>10}{'reward ms':>12}{'share':>9}")
    for name, step, rew, share in table:
        print(f"{name:<22}{step:>10.2f}{rew * 1000:>12.1f}{share:>8.2%}")
    print(f"{'mean (steps 2+)':<22}{mean_step:>10.2f}{mean_reward * 1000:>12.1f}{mean_reward / mean_step:>8.2%}")

    # each part alone on the completions the model produced, against the same anchor (mean step time)
    reward = timed.reward
    parts = list(zip(reward.part_names(), reward.parts, strict=True)) if reward.parts else [(reward.name, reward)]
    print(f"\n{'part (alone)':<22}{'ms/batch':>10}{'× step':>12}")
    for name, part in parts:
        fn = TrlReward(part, name)
        times = []
        for _ in range(opts.reps):
            for batch in timed.batches:
                started = time.perf_counter()
                fn(**batch)
                times.append(time.perf_counter() - started)
        per_batch = statistics.median(times)
        print(f"{name:<22}{per_batch * 1000:>10.1f}{per_batch / mean_step:>12.4f}")
    summary = {"mean_step_s": mean_step, "mean_reward_s": mean_reward, "share": mean_reward / mean_step}
    if built.device == "cuda":
        import torch

        summary["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated() / 1e9
        summary["gpu"] = torch.cuda.get_device_name(0)
        summary["bf16"] = bool(built.trainer.args.bf16)
        print(f"\npeak GPU memory: {summary['peak_gpu_memory_gb']:.2f} GB on {summary['gpu']} (bf16={summary['bf16']})")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

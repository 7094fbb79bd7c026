"""`train(config)`: GRPO with LoRA on rewardsmith rewards, through TRL's GRPOTrainer.

The config's reward SPECs become one weighted composite, handed to TRL through `to_trl`, so TRL logs
the total as `rewards/<reward_name>/mean` and every part as `rewards/<reward_name>/<part>/mean`.
A run writes `runs/<name>/`: `config.json`, `metrics.jsonl` (one line per logged step), `reward_curve.png`
(mean reward and each part per step) and `adapter/` (the LoRA weights, loadable with peft).

Device policy: `auto` picks CUDA when torch sees a GPU (bf16 when the GPU supports it), else CPU in
float32; `cuda` without a GPU is a ConfigError, not a silent fallback.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import ConfigError, UsageError
from rewardsmith.trainer_adapter.config import TrainConfig

MEAN_KEY = "reward"  # TRL's mean of the weighted total over the batch


@dataclass
class TrainResult:
    """What a run did: mean reward at the first and last steps (and over the first/last quarter, which is
    less noisy), and where it wrote things."""

    steps: int
    first_reward: float
    last_reward: float
    first_quarter_reward: float
    last_quarter_reward: float
    run_dir: Path
    metrics_path: Path
    plot_path: Path | None
    adapter_path: Path
    seconds: float
    #: greedy evaluation on the held-out split before and after training (None without one)
    eval_before: dict[str, Any] | None = None
    eval_after: dict[str, Any] | None = None

    def summary(self) -> str:
        text = (
            f"mean reward: first step {self.first_reward:.3f} → last step {self.last_reward:.3f}; "
            f"first quarter {self.first_quarter_reward:.3f} → last quarter {self.last_quarter_reward:.3f} "
            f"over {self.steps} steps in {self.seconds:.0f} s"
        )
        if self.eval_before and self.eval_after:
            text += f"; held-out {self.eval_before['mean']:.3f} → {self.eval_after['mean']:.3f}"
        return text


TRAIN_EXTRA = ("torch", "transformers", "trl", "peft", "accelerate", "datasets")


def require_train_extra() -> None:
    """A one-line hint instead of an ImportError traceback when the `train` extra is missing."""
    missing = [m for m in TRAIN_EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(
            f"rewardsmith train needs the train extra (missing: {', '.join(missing)}): "
            "pip install 'rewardsmith[train]' (to_trl alone needs only the core install)"
        )


def pick_device(requested: str) -> tuple[str, bool]:
    """(device, bf16) for `auto` / `cpu` / `cuda`."""
    import torch

    has_cuda = torch.cuda.is_available()
    if requested == "cuda" and not has_cuda:
        raise ConfigError("device 'cuda' was requested but torch sees no GPU; use --device cpu or auto")
    device = "cuda" if (requested == "cuda" or (requested == "auto" and has_cuda)) else "cpu"
    return device, device == "cuda" and torch.cuda.is_bf16_supported()


def build_reward(config: TrainConfig) -> Any:
    """The config's SPECs as one Reward: the term itself when there is one with weight 1."""
    import rewardsmith as rs

    terms = [(rs.load(t.spec), t.weight) for t in config.rewards]
    if len(terms) == 1 and terms[0][1] == 1.0:
        return terms[0][0].named(config.reward_name)
    return rs.weighted(terms, name=config.reward_name)


def load_datasets(config: TrainConfig) -> tuple[Any, Any | None]:
    """(train, held-out) `datasets.Dataset`s; the held-out one is None for a dataset without one."""
    from datasets import Dataset, DatasetDict, load_dataset, load_from_disk

    ds = config.dataset
    if ds.task is not None:
        from rewardsmith.trainer_adapter.tasks import TASKS

        splits = TASKS[ds.task](n_train=ds.n_train, n_eval=ds.n_eval, seed=config.seed, max_operand=ds.max_operand)
        held = Dataset.from_list(splits["eval"]) if splits["eval"] else None
        return Dataset.from_list(splits["train"]), held
    assert ds.path is not None
    path = Path(ds.path).expanduser()
    if path.is_file():
        data: Any = load_dataset("json", data_files=str(path), split="train")
    elif path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
        data = load_from_disk(str(path))
    else:
        data = load_dataset(ds.path, split=ds.split)
    if isinstance(data, DatasetDict):
        if ds.split not in data:
            raise ConfigError(f"dataset.split {ds.split!r} not in {ds.path!r}; it has {', '.join(data)}")
        data = data[ds.split]
    if ds.prompt_column != "prompt":
        if ds.prompt_column not in data.column_names:
            raise ConfigError(
                f"dataset.prompt_column {ds.prompt_column!r} is not a column of {ds.path!r}: {data.column_names}"
            )
        data = data.rename_column(ds.prompt_column, "prompt")
    if "prompt" not in data.column_names:
        raise ConfigError(
            f"dataset {ds.path!r} has no 'prompt' column (columns: {data.column_names}); set dataset.prompt_column"
        )
    return data, None


@dataclass
class BuiltRun:
    """A GRPOTrainer ready to train, with what `train` needs around it."""

    trainer: Any
    tokenizer: Any
    reward: Any
    device: str
    held_out: Any = None


def build_trainer(config: TrainConfig, *, reward_funcs: list[Any] | None = None) -> BuiltRun:
    """The GRPOTrainer for `config` (LoRA on the config's model, the config's dataset); `reward_funcs`
    replaces `[to_trl(<the config's composite>)]`, e.g. to wrap it with a timer in a benchmark."""
    _offline_when_local(config)
    # Sleeping, not spinning, OpenMP threads: on a CPU shared with other work (CI, other jobs) spinning
    # threads steal each other's cores and a step can take several times longer. Only effective before
    # torch is first imported; an explicit setting in the environment wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    device, bf16 = pick_device(config.device)

    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from rewardsmith.trainer_adapter.model import resolve_model
    from rewardsmith.trainer_adapter.trl import to_trl

    reward = build_reward(config)
    train_data, _held_out = load_datasets(config)
    model_path = resolve_model(config.model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path)
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(
            f"model {config.model!r} is not available offline ({first}); download it once with "
            f"`huggingface-cli download {config.model}` where there is network, or give --model a local checkpoint "
            "folder"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = torch.bfloat16 if bf16 else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)

    torch.manual_seed(config.seed)
    g = config.grpo
    # transformers 5 renamed gradient_checkpointing and warns on every use, even when TRL sets it
    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*deprecated", category=FutureWarning)
    passthrough = dict(g.passthrough)
    if "save_steps" in passthrough:
        passthrough.setdefault("save_strategy", "steps")  # asking for save_steps means saving
    settings: dict[str, Any] = dict(
        output_dir=str(config.run_dir / "trainer"),
        max_steps=g.steps,
        per_device_train_batch_size=g.batch_size,
        gradient_accumulation_steps=g.gradient_accumulation_steps,
        num_generations=g.num_generations,
        max_completion_length=g.max_completion_length,
        learning_rate=g.learning_rate,
        lr_scheduler_type=g.lr_scheduler,
        beta=g.beta,
        temperature=g.temperature,
        num_iterations=g.num_iterations,
        loss_type=g.loss_type,
        gradient_checkpointing=g.gradient_checkpointing,
        use_vllm=g.use_vllm,
        vllm_mode=g.vllm_mode,
        use_cpu=device == "cpu",
        bf16=bf16,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    settings.update(passthrough)  # trl.GRPOConfig fields given in the config win
    args = GRPOConfig(**settings)
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs if reward_funcs is not None else [to_trl(reward)],
        args=args,
        train_dataset=train_data,
        processing_class=tokenizer,
        peft_config=lora,
    )
    return BuiltRun(trainer, tokenizer, reward, device, _held_out)


def train(config: TrainConfig | dict[str, Any]) -> TrainResult:
    """Run GRPO with LoRA as `config` says and return the reward trend and the paths written."""
    from rewardsmith.trainer_adapter.config import build_config

    if not isinstance(config, TrainConfig):
        config = build_config(dict(config))
    require_train_extra()
    started = time.perf_counter()
    run_dir = config.run_dir
    if run_dir.exists() and any(run_dir.iterdir()) and not config.overwrite:
        raise UsageError(
            f"{run_dir} already holds a run; give another --name, or --overwrite to replace it "
            "(a previous run is never destroyed silently)"
        )
    built = build_trainer(config)  # everything that can fail on a bad setting fails before we write anything
    created = not run_dir.exists()
    if run_dir.exists() and config.overwrite:
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config.dump(), indent=2) + "\n", encoding="utf-8")
    metrics_path = run_dir / "metrics.jsonl"
    metrics_path.write_text("", encoding="utf-8")
    try:
        return _train(built, config, run_dir, metrics_path, started)
    except BaseException:
        if created and not metrics_path.read_text(encoding="utf-8").strip():
            shutil.rmtree(run_dir, ignore_errors=True)  # a run that never logged a step leaves nothing behind
        raise


def _train(built: BuiltRun, config: TrainConfig, run_dir: Path, metrics_path: Path, started: float) -> TrainResult:
    trainer, tokenizer, reward, device = built.trainer, built.tokenizer, built.reward, built.device
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    recorder = MetricsRecorder(metrics_path, config, reward, device)
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(_as_callback(recorder))
    held_out = None
    if built.held_out is not None and config.eval_samples:
        held_out = built.held_out.select(range(min(config.eval_samples, len(built.held_out))))
    eval_before = evaluate(built, held_out, config) if held_out is not None else None
    trainer.train()
    eval_after = evaluate(built, held_out, config) if held_out is not None else None
    if eval_before is not None:
        (run_dir / "eval.json").write_text(
            json.dumps({"before": eval_before, "after": eval_after}, indent=2) + "\n", encoding="utf-8"
        )

    adapter_path = run_dir / "adapter"
    trainer.model.save_pretrained(str(adapter_path))
    tokenizer.save_pretrained(str(adapter_path))
    rows = recorder.rows
    plot_path = plot_curve(rows, config.reward_name, run_dir / "reward_curve.png")
    rewards = [r[MEAN_KEY] for r in rows if _finite(r.get(MEAN_KEY))]
    if not rewards:
        raise RuntimeError("training logged no reward; see the TRL output above")
    quarter = max(1, len(rewards) // 4)
    return TrainResult(
        steps=len(rewards),
        first_reward=rewards[0],
        last_reward=rewards[-1],
        first_quarter_reward=sum(rewards[:quarter]) / quarter,
        last_quarter_reward=sum(rewards[-quarter:]) / quarter,
        run_dir=run_dir,
        metrics_path=metrics_path,
        plot_path=plot_path,
        adapter_path=adapter_path,
        seconds=time.perf_counter() - started,
        eval_before=eval_before,
        eval_after=eval_after,
    )


def evaluate(built: BuiltRun, rows: Any, config: TrainConfig) -> dict[str, Any]:
    """Greedy completions of the current policy on `rows`, scored with the run's reward.

    Greedy, so the figure is the policy's typical answer rather than a lucky sample; it complements the
    training curve, whose per-step mean depends on which few prompts the step drew.
    """
    import torch

    from rewardsmith.core.report import report
    from rewardsmith.core.sample import Sample

    model, tokenizer = built.trainer.model, built.tokenizer
    prompts = list(rows["prompt"])
    texts = [
        tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) if isinstance(p, list) else p
        for p in prompts
    ]
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    finally:
        tokenizer.padding_side = side
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model.generate(
            **enc,
            max_new_tokens=config.grpo.max_completion_length,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    if was_training:
        model.train()
    completions = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    columns = [c for c in rows.column_names if c not in ("prompt", "answer", "tests")]
    samples = [
        Sample(
            completion=c,
            prompt=p,
            answer=row.get("answer"),
            tests=row.get("tests"),
            metadata={k: row[k] for k in columns},
        )
        for c, p, row in zip(completions, prompts, rows, strict=True)
    ]
    scores = built.reward.score_batch(samples)
    stats = report(scores)
    parts = {name: st.mean for name, st in stats.parts.items() if st.mean is not None}
    return {
        "n": len(samples),
        "mean": stats.total.mean if stats.total.mean is not None else math.nan,
        "parts": parts,
        "examples": [
            {"prompt": row.get("question"), "completion": c} for row, c in zip(rows, completions[:3], strict=False)
        ],
    }


def _offline_when_local(config: TrainConfig) -> None:
    """No network when everything is local (the demo): no hub lookups, no telemetry that can stall a
    machine without internet. Effective only before transformers is first imported; an explicit
    `HF_HUB_OFFLINE` in the environment wins."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from rewardsmith.trainer_adapter.model import DEFAULT_MODEL

    local_model = config.model == DEFAULT_MODEL or Path(config.model).expanduser().exists()
    local_data = config.dataset.task is not None or Path(config.dataset.path or "").expanduser().exists()
    if local_model and local_data:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


class MetricsRecorder:
    """Appends each training log to metrics.jsonl and prints one compact progress line per step.

    Duck-typed as a `transformers.TrainerCallback` (see `_as_callback`), so importing this module
    does not import transformers.
    """

    def __init__(self, path: Path, config: TrainConfig, reward: Any, device: str) -> None:
        self.path = path
        self.config = config
        self.prefix = f"rewards/{config.reward_name}/"
        self.parts = list(getattr(reward, "part_names", lambda: [])())
        self.device = device
        self.rows: list[dict[str, Any]] = []
        self.last_time = time.perf_counter()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.last_time = time.perf_counter()
        if self.config.progress:
            print(
                f"rewardsmith train: {self.config.grpo.steps} steps on {self.device}, "
                f"{self.config.grpo.batch_size} completions/step in groups of {self.config.grpo.num_generations}",
                file=sys.stderr,
                flush=True,
            )

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or MEAN_KEY not in logs:
            return  # the end-of-training summary has no per-step reward
        row = {"step": state.global_step, **{k: v for k, v in logs.items() if _jsonable(v)}}
        self.rows.append(row)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")
        if self.config.progress:
            now = time.perf_counter()
            parts = ", ".join(
                f"{p} {row[f'{self.prefix}{p}/mean']:.2f}" for p in self.parts if f"{self.prefix}{p}/mean" in row
            )
            print(
                f"step {state.global_step:>4}/{state.max_steps}  reward {row[MEAN_KEY]:.3f}"
                + (f"  ({parts})" if parts else "")
                + f"  {now - self.last_time:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            self.last_time = now


def _as_callback(recorder: MetricsRecorder) -> Any:
    from transformers import TrainerCallback

    class _Callback(TrainerCallback):
        def on_train_begin(self, *args: Any, **kwargs: Any) -> None:
            recorder.on_train_begin(*args, **kwargs)

        def on_log(self, *args: Any, **kwargs: Any) -> None:
            recorder.on_log(*args, **kwargs)

    return _Callback()


def _jsonable(value: Any) -> bool:
    return isinstance(value, (int, float, str, bool)) or value is None


def plot_curve(rows: list[dict[str, Any]], reward_name: str, path: Path) -> Path | None:
    """Mean reward and each part per step, as a PNG; None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    prefix = f"rewards/{reward_name}/"
    part_keys = sorted(
        {
            k
            for r in rows
            for k in r
            if k.startswith(prefix) and k.endswith("/mean") and k != f"{prefix}mean" and "/status/" not in k
        }
    )
    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r.get(MEAN_KEY, math.nan) for r in rows], label="mean reward (weighted total)", linewidth=2.5)
    for key in part_keys:
        ax.plot(steps, [r.get(key, math.nan) for r in rows], label=key[len(prefix) : -len("/mean")], alpha=0.8)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step")
    ax.set_ylabel("reward")
    ax.set_title(f"GRPO reward per step ({reward_name})")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

"""`TrainConfig`: everything `rewardsmith train` needs, validated before any model is loaded.

A config comes from a YAML/JSON file, keyword arguments, and dotted CLI overrides (`grpo.steps=20`),
in that order of precedence (later wins). Every bad value fails here with a `ConfigError` that names the
field and the fix, so a typo never costs a model load: unknown reward SPECs are resolved now with
`rewardsmith.load`, generations per prompt must divide the batch, and a model given as a path must exist.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rewardsmith.core.errors import ConfigError
from rewardsmith.trainer_adapter.model import DEFAULT_MODEL

# The demo's composite: the think/answer layout (soft: any whitespace between the blocks), correctness
# under SymPy, and partial credit for near misses (a denser signal than correctness alone for a 135M model).
DEFAULT_REWARDS: list[dict[str, Any]] = [
    {"spec": "format:strict=false", "weight": 0.5},
    {"spec": "math", "weight": 1.0},
    {"spec": "proximity", "weight": 0.5},
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RewardTerm(_Section):
    """One reward SPEC and its weight in the weighted sum TRL trains on."""

    spec: str
    weight: float = 1.0

    @field_validator("spec")
    @classmethod
    def _resolves(cls, spec: str) -> str:
        from rewardsmith.core.errors import UsageError
        from rewardsmith.core.spec import load

        try:
            load(spec)
        except UsageError as exc:  # a ValueError, so pydantic reports it under rewards.<i>.spec
            raise ValueError(str(exc)) from None
        return spec


class DatasetConfig(_Section):
    """A built-in task (`task`) or a dataset (`path`: a JSONL/JSON file, a `save_to_disk` folder,
    or a Hugging Face dataset name already in the local cache). Rows need a `prompt` column
    (text or chat messages); every other column reaches the rewards as `Sample` fields/metadata."""

    task: Literal["arithmetic"] | None = "arithmetic"
    path: str | None = None
    split: str = "train"
    prompt_column: str = "prompt"
    n_train: int = Field(256, ge=1, description="rows of the built-in task's training split")
    n_eval: int = Field(64, ge=0, description="rows of the built-in task's held-out split")
    max_operand: int = Field(20, ge=2, description="largest number in the built-in arithmetic problems")

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        if self.path is not None:
            if self.task is not None and "task" in self.model_fields_set:
                raise ValueError("give either dataset.task or dataset.path, not both")
            self.__dict__["task"] = None  # a path replaces the default task
            looks_local = self.path.startswith((".", "/", "~")) or self.path.endswith((".jsonl", ".json"))
            if looks_local and not Path(self.path).expanduser().exists():
                raise ValueError(f"dataset.path {self.path!r} does not exist")
        elif self.task is None:
            raise ValueError("give dataset.task (e.g. 'arithmetic') or dataset.path")
        return self


# TRL's names for our settings, so a TRL user's habits work (`grpo.max_steps=20`, `--max_steps 20`)
TRL_ALIASES = {"max_steps": "steps", "per_device_train_batch_size": "batch_size", "lr_scheduler_type": "lr_scheduler"}


class GRPOSettings(_Section):
    """The GRPO knobs that matter most; each maps onto the `trl.GRPOConfig` field of the same meaning.

    TRL's own names work too (`max_steps`, `per_device_train_batch_size`, `lr_scheduler_type`), and any
    other `trl.GRPOConfig` field (`report_to`, `save_steps`, `warmup_ratio`, `top_p`, …) is passed through
    to GRPOConfig as given; a name that is neither is an error, so a typo never trains silently.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    steps: int = Field(16, ge=1, description="optimizer steps (GRPOConfig.max_steps)")
    num_generations: int = Field(4, ge=2, description="completions sampled per prompt (the GRPO group)")
    batch_size: int = Field(16, ge=1, description="completions per device per step; a multiple of num_generations")
    gradient_accumulation_steps: int = Field(1, ge=1)
    learning_rate: float = Field(
        3e-4, gt=0, description="high for LoRA on a tiny model; use ~1e-5 for full fine-tuning"
    )
    lr_scheduler: Literal["constant", "linear", "cosine"] = "constant"
    max_completion_length: int = Field(32, ge=1)
    beta: float = Field(0.0, ge=0, description="KL coefficient; 0 skips the reference model")
    temperature: float = Field(1.0, gt=0)
    num_iterations: int = Field(1, ge=1, description="policy updates per generated batch (μ in the GRPO paper)")
    loss_type: Literal["grpo", "dr_grpo", "dapo", "bnpo"] = "dapo"
    gradient_checkpointing: bool = False
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"

    @model_validator(mode="before")
    @classmethod
    def _trl_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for trl_name, ours in TRL_ALIASES.items():
            if trl_name in data:
                if ours in data and data[ours] != data[trl_name]:
                    raise ValueError(f"give {ours} or {trl_name}, not both (they are the same setting)")
                data[ours] = data.pop(trl_name)
        return data

    @model_validator(mode="after")
    def _known_passthrough(self) -> GRPOSettings:
        extra = dict(self.model_extra or {})
        if extra:
            known = grpo_config_fields()
            unknown = sorted(k for k in extra if k not in known)
            if unknown:  # "@key:" puts the key into the field path of the message (see format_errors)
                raise ValueError(
                    f"@{unknown[0]}: unknown setting: neither a rewardsmith grpo setting "
                    f"({', '.join(type(self).model_fields)}) nor a trl.GRPOConfig field"
                )
        return self

    @property
    def passthrough(self) -> dict[str, Any]:
        """The trl.GRPOConfig fields given as they are (those that are not our own settings)."""
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _divides(self) -> GRPOSettings:
        if self.batch_size % self.num_generations:
            raise ValueError(
                f"num_generations={self.num_generations} does not divide batch_size={self.batch_size}: "
                f"each step scores whole groups, so use a batch_size that is a multiple of {self.num_generations} "
                f"(e.g. {self.num_generations * max(1, self.batch_size // self.num_generations)})"
            )
        return self


class LoraSettings(_Section):
    r: int = Field(16, ge=1, description="LoRA rank")
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


class TrainConfig(_Section):
    """The whole run. Defaults are the CPU demo: SmolLM2-135M, arithmetic, LoRA, ~10 minutes on 2 cores."""

    name: str = "demo"
    output_dir: str = "runs"
    overwrite: bool = Field(False, description="replace an existing run of the same name (else refuse)")
    model: str = Field(DEFAULT_MODEL, description=f"{DEFAULT_MODEL!r} (embedded), a local checkpoint dir, or a hub id")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    seed: int = 0
    progress: bool = True
    eval_samples: int = Field(16, ge=0, description="held-out problems scored (greedy) before and after training")
    reward_name: str = Field("total", description="the name TRL logs the weighted sum under: rewards/<name>/mean")
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)  # type: ignore[arg-type]
    rewards: list[RewardTerm] = Field(default_factory=lambda: [RewardTerm(**r) for r in DEFAULT_REWARDS], min_length=1)
    grpo: GRPOSettings = Field(default_factory=GRPOSettings)  # type: ignore[arg-type]
    lora: LoraSettings = Field(default_factory=LoraSettings)  # type: ignore[arg-type]

    @field_validator("rewards", mode="before")
    @classmethod
    def _spec_shorthand(cls, value: Any) -> Any:
        # "spec" or "spec=weight"? A SPEC contains "=" itself (proximity:tolerance=1), so only a bare
        # string or a {spec, weight} mapping is accepted; the weight shorthand lives on the CLI (--reward SPEC@W).
        if isinstance(value, (str, dict)):
            value = [value]
        if isinstance(value, list):
            return [{"spec": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise ValueError(f"name {name!r} must be a plain folder name (letters, digits, '.', '_', '-')")
        return name

    @field_validator("model")
    @classmethod
    def _model_exists(cls, model: str) -> str:
        if model == DEFAULT_MODEL:
            return model
        path = Path(model).expanduser()
        looks_local = model.startswith((".", "/", "~")) or model.count("/") != 1
        if path.exists():
            if not (path / "config.json").is_file():
                raise ValueError(f"model path {model!r} has no config.json: give a transformers checkpoint folder")
        elif looks_local:
            raise ValueError(
                f"model path {model!r} does not exist; give a checkpoint folder, a hub id such as "
                f"'HuggingFaceTB/SmolLM2-135M-Instruct', or {DEFAULT_MODEL!r} for the embedded model"
            )
        return model

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def grpo_config_fields() -> set[str]:
    """Field names of trl.GRPOConfig (imports TRL: only called when a config passes one through)."""
    import dataclasses

    try:
        from trl import GRPOConfig
    except ImportError as exc:
        raise ValueError(f"passing trl.GRPOConfig fields through needs TRL: {exc}") from None
    return {f.name for f in dataclasses.fields(GRPOConfig)}


def load_config(path: str | None = None, overrides: list[str] | None = None, **fields: Any) -> TrainConfig:
    """File (YAML or JSON), then keyword `fields`, then `key.sub=value` overrides; ConfigError on bad values."""
    data: dict[str, Any] = {}
    if path is not None:
        data = read_config_file(path)
    for key, value in fields.items():
        if value is not None:
            set_dotted(data, key, value)
    for item in overrides or []:
        key, eq, raw = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"override {item!r} is not key=value (e.g. grpo.steps=20 or lora.r=8)")
        set_dotted(data, key.strip(), parse_value(raw.strip()))
    return build_config(data)


def build_config(data: dict[str, Any]) -> TrainConfig:
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc)) from None


def read_config_file(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"--config: file {path!r} does not exist")
    text = file.read_text(encoding="utf-8")
    try:
        if file.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (ValueError, Exception) as exc:  # yaml.YAMLError and json.JSONDecodeError
        raise ConfigError(
            f"--config: {path!r} is not valid {'JSON' if file.suffix == '.json' else 'YAML'} ({exc})"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"--config: {path!r} must hold a mapping of settings, got {type(data).__name__}")
    return data


def parse_value(raw: str) -> Any:
    """`20` → 20, `1e-4` → 0.0001, `true` → True, `[a, b]` → list; anything else stays a string."""
    import yaml

    try:
        return yaml.safe_load(raw) if raw else ""
    except Exception:
        return raw


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {key!r}: {part!r} is not a section")
        node = child
    node[leaf] = value


def format_errors(exc: ValidationError) -> str:
    """pydantic's errors as one line per field: `grpo.batch_size: …`."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "config"
        msg = err["msg"].removeprefix("Value error, ")
        ctx = err.get("ctx", {}).get("error")
        if isinstance(ctx, ConfigError):
            msg = str(ctx)
        if err["type"] == "extra_forbidden":
            msg = "unknown setting (check the spelling; `rewardsmith train --help` lists the sections)"
        if msg.startswith("@"):
            key, _, msg = msg[1:].partition(": ")
            where = f"{where}.{key}"
        lines.append(f"{where}: {msg}")
    return "invalid training config: " + "; ".join(lines)

"""Adapters that plug rewardsmith Rewards into trainers (TRL's GRPOTrainer first).

`to_trl` / `to_trl_async` wrap any Reward as a TRL reward function; `train(config)` (and the
`rewardsmith train` command) runs GRPO with LoRA on rewardsmith rewards. Importing this package
stays light: torch, transformers, trl and peft are imported only when `train` runs.
"""

from __future__ import annotations

from rewardsmith.trainer_adapter.config import TrainConfig, load_config
from rewardsmith.trainer_adapter.train import TrainResult, train
from rewardsmith.trainer_adapter.trl import AsyncTrlReward, TrlReward, from_trl, to_trl, to_trl_async

__all__ = [
    "AsyncTrlReward",
    "TrainConfig",
    "TrainResult",
    "TrlReward",
    "from_trl",
    "load_config",
    "to_trl",
    "to_trl_async",
    "train",
]

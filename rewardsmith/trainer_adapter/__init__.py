"""Adapters that plug rewardsmith Rewards into trainers (TRL's GRPOTrainer first)."""

"""Verifiers decide whether a completion is right: Rewards whose value is 1.0/0.0 or a pass fraction."""

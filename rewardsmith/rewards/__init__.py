"""Shaped rewards: partial credit, length and repetition shaping, rubrics and ready presets."""

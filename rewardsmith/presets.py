"""The catalogue of presets: name → factory, imported only when used.

Each factory takes keyword-only options with defaults; `rewardsmith list` shows them, and a
SPEC such as `name:key=value` passes them. Add a preset by adding one line here.
"""

from __future__ import annotations

from rewardsmith.core.spec import registry

_PRESETS = [
    ("exact", "rewardsmith.verifiers.exact:exact", "normalized string match of the completion against `answer`"),
    (
        "math",
        "rewardsmith.verifiers.math:math_answer",
        "final answer (\\boxed{}, <answer>, ####, 'the answer is') equals `answer` under SymPy",
    ),
    (
        "math_equal",
        "rewardsmith.verifiers.math:math_equal",
        "the completion, taken as an answer string, equals `answer` under SymPy",
    ),
    ("regex", "rewardsmith.verifiers.format:regex", "1.0 when the completion matches a regular expression"),
    ("code", "rewardsmith.verifiers.code:code_tests", "fraction of tests the completion's code passes, sandboxed"),
    ("format", "rewardsmith.verifiers.format:tag_format", "1.0 for the <think>…</think><answer>…</answer> layout"),
    ("tag_count", "rewardsmith.verifiers.format:tag_count", "partial credit per well-formed tag marker"),
    ("json", "rewardsmith.verifiers.format:json_format", "1.0 when the output is JSON that validates"),
    ("proximity", "rewardsmith.rewards.proximity:proximity", "partial credit near the reference (numbers, strings)"),
    ("cosine_length", "rewardsmith.rewards.length:cosine_length", "correctness scaled by length (cosine schedule)"),
    ("overlong", "rewardsmith.rewards.length:overlong", "DAPO soft overlong punishment (0 down to -1)"),
    ("too_long", "rewardsmith.rewards.length:too_long", "a penalty above N words, characters or tokens"),
    ("repetition", "rewardsmith.rewards.repetition:repetition", "penalty for repeated n-grams (0 to max_penalty)"),
    ("rubric", "rewardsmith.rewards.rubric:rubric", "a points table from a YAML/JSON file (path=...)"),
    ("email", "rewardsmith.rewards.rubric:email", "email rubric: keyword, ideal, length, recipient, signature"),
    (
        "judge",
        "rewardsmith.judges.preset:judge",
        "LLM judge on an OpenAI-compatible server: rubric (built-in: robotic), question, reference, scale, pairwise",
    ),
    ("gsm8k", "rewardsmith.rewards.presets:gsm8k", "willccbb's GSM8K GRPO rewards (compat=true: exact)"),
    ("unsloth", "rewardsmith.rewards.presets:unsloth", "Unsloth's Qwen3 GRPO notebook rewards (compat=true: exact)"),
    ("r1", "rewardsmith.rewards.presets:r1", "DeepSeek-R1 / open-r1: think/answer format + math accuracy"),
]

for _name, _target, _summary in _PRESETS:
    registry.add(_name, _target, _summary)

"""Math answer verification: extract → normalize/parse → compare, each stage usable alone.

- `math_answer()` (preset `math`): find the final answer in a completion, compare with `answer`;
- `math_equal()` (preset `math_equal`): the completion is the answer, compare with `answer`;
- `verify(gold, pred)` → `Check` and `is_equivalent(gold, pred)` → bool for other modules;
- stages: `extract_answer`, `normalize`, `parse_answer`, `equivalent`; configs in `config`;
- helpers: `prose` (multilingual completions), `choices` (multiple-choice rows), `units`.

See docs/math.md for the supported syntax and the policy on ambiguous answers.
"""

from __future__ import annotations

from rewardsmith.verifiers.math.choices import Choices, parse_choices
from rewardsmith.verifiers.math.config import EquivalenceConfig, ExtractionConfig, GuardConfig
from rewardsmith.verifiers.math.equivalence import Verdict, equivalent
from rewardsmith.verifiers.math.extract import Extraction, extract_answer
from rewardsmith.verifiers.math.normalize import normalize
from rewardsmith.verifiers.math.parse import MathValue, parse_answer
from rewardsmith.verifiers.math.pipeline import Check, is_equivalent, verify
from rewardsmith.verifiers.math.reward import MathVerifier, math_answer, math_equal, reference_answer

__all__ = [
    "Check",
    "Choices",
    "EquivalenceConfig",
    "Extraction",
    "ExtractionConfig",
    "GuardConfig",
    "MathValue",
    "MathVerifier",
    "Verdict",
    "equivalent",
    "extract_answer",
    "is_equivalent",
    "math_answer",
    "math_equal",
    "normalize",
    "parse_choices",
    "parse_answer",
    "reference_answer",
    "verify",
]

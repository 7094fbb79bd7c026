"""gsm8k / unsloth / r1 presets: hand-checked values in compat mode, the fixed defaults, overrides.

Every expected value below was worked out by hand from the reference functions (willccbb's
grpo_demo.py gist; unslothai/notebooks nb/Qwen3_(4B)-GRPO.ipynb; open-r1 rewards.py); the
comments show the arithmetic, part by part.
"""

from __future__ import annotations

import pytest

import rewardsmith as rs
from rewardsmith.core.compose import Weighted
from rewardsmith.core.errors import ConfigError, InputError
from rewardsmith.rewards.presets import gsm8k, r1, unsloth


def parts(score):
    """part name → weighted contribution."""
    return score.details["contributions"]


# -- gsm8k ---------------------------------------------------------------------------------------
# parts in order: correctness ×2, integer ×0.5, strict_format ×0.5, soft_format ×0.5, xml_count ×0.5

PERFECT = "<reasoning>\nSix times twelve.\n</reasoning>\n<answer>\n72\n</answer>\n"
NO_NEWLINE = PERFECT[:-1]  # 64 characters
MULTILINE = "<reasoning>\nStep 1: 6*12.\nStep 2: = 72.\n</reasoning>\n<answer>\n72\n</answer>\n"
TRAILING = "<reasoning>\nx\n</reasoning>\n<answer>\n72\n</answer>\nHope this helps!"  # 16 trailing chars
SPACES = "<reasoning>  x  </reasoning>   <answer> 72 </answer>"
DOLLARS = "<reasoning>\nx\n</reasoning>\n<answer>\n$72\n</answer>\n"

GSM8K_CASES = [
    # name, completion, compat parts, default parts
    (
        "perfect",
        PERFECT,
        # soft fails: its regex has no DOTALL and the reasoning block spans lines
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.5, "soft_format": 0.0, "xml_count": 0.5},
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.5, "soft_format": 0.5, "xml_count": 0.5},
    ),
    (
        "no trailing newline",
        NO_NEWLINE,
        # strict wants "\n" after </answer>; count_xml: 3×0.125 − 64×0.001 (no "\n</answer>\n",
        # so the whole text is "trailing") + 0.125 − (0 − 1)×0.001 = 0.437
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.0, "soft_format": 0.0, "xml_count": 0.437},
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.5, "soft_format": 0.5, "xml_count": 0.5},
    ),
    (
        "multi-line reasoning",
        MULTILINE,
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.0, "soft_format": 0.0, "xml_count": 0.5},
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.5, "soft_format": 0.5, "xml_count": 0.5},
    ),
    (
        "missing tags",
        "72",
        # compat: no <answer> tag, so the whole text is the answer
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.0, "soft_format": 0.0, "xml_count": 0.0},
        {"correctness": 0.0, "integer": 0.0, "strict_format": 0.0, "soft_format": 0.0, "xml_count": 0.0},
    ),
    (
        "trailing text",
        TRAILING,
        # count_xml charges the 16 trailing characters twice: 0.5 − 0.016 − (17 − 1)×0.001;
        # the default charges them once on its 0–1 scale (×0.5): (1 − 16×0.002)×0.5 = 0.484
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.0, "soft_format": 0.0, "xml_count": 0.468},
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.0, "soft_format": 0.5, "xml_count": 0.484},
    ),
    (
        "extra whitespace on one line",
        SPACES,
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.0, "soft_format": 0.5, "xml_count": 0.0},
        {"correctness": 2.0, "integer": 0.5, "strict_format": 0.0, "soft_format": 0.5, "xml_count": 0.0},
    ),
    (
        "currency sign",
        DOLLARS,
        {"correctness": 0.0, "integer": 0.0, "strict_format": 0.5, "soft_format": 0.0, "xml_count": 0.5},
        {"correctness": 2.0, "integer": 0.0, "strict_format": 0.5, "soft_format": 0.5, "xml_count": 0.5},
    ),
]


@pytest.mark.parametrize("name, text, compat, default", GSM8K_CASES, ids=[c[0] for c in GSM8K_CASES])
def test_gsm8k_hand_checked(name, text, compat, default):
    row = {"completion": text, "answer": "72"}
    for preset, expected in ((gsm8k(compat=True), compat), (gsm8k(), default)):
        score = preset.score(row)
        assert parts(score) == pytest.approx(expected, abs=1e-12)
        assert score.value == pytest.approx(sum(expected.values()), abs=1e-12)


def test_gsm8k_compat_xml_count_is_exactly_the_demo_value():
    score = gsm8k(compat=True).score({"completion": NO_NEWLINE, "answer": "72"})
    demo = 0.125 + 0.125 + 0.125 - 64 * 0.001 + 0.125 - (0 - 1) * 0.001  # the demo's arithmetic, in its order
    assert score.details["parts"]["xml_count"]["details"]["count_xml"] == demo
    assert parts(score)["xml_count"] == demo


def test_gsm8k_negative_integer_and_raw_gsm8k_reference():
    text = "<reasoning>\nx\n</reasoning>\n<answer>\n-5\n</answer>\n"
    assert parts(gsm8k(compat=True).score({"completion": text, "answer": "-5"}))["integer"] == 0.0  # isdigit
    assert parts(gsm8k().score({"completion": text, "answer": "-5"}))["integer"] == 0.5
    raw = "Natalia sold 48/2 = 24 clips in May.\n#### 72"
    assert gsm8k().score({"completion": PERFECT, "answer": raw}).value == 4.0
    assert gsm8k(compat=True).score({"completion": PERFECT, "answer": 72}).value == 3.5


def test_gsm8k_overrides_from_spec_and_python():
    row = {"completion": PERFECT, "answer": "72"}
    assert rs.load("gsm8k:correctness=3.0,compat=true").score(row).value == 4.5
    assert gsm8k(xml_count=0).score(row).value == 3.5
    assert "xml_count" not in gsm8k(xml_count=0).part_names()
    g = rs.load("gsm8k")
    assert isinstance(g, Weighted)
    assert dict(zip(g.part_names(), g.weights, strict=True)) == {
        "correctness": 2.0,
        "integer": 0.5,
        "strict_format": 0.5,
        "soft_format": 0.5,
        "xml_count": 0.5,
    }
    with pytest.raises(rs.SpecError, match="correctness"):
        rs.load("gsm8k:correctness=lots")
    with pytest.raises(ConfigError, match="every weight is 0"):
        gsm8k(correctness=0, integer=0, strict_format=0, soft_format=0, xml_count=0)
    with pytest.raises(InputError, match="'answer'"):
        gsm8k().score(PERFECT)


# -- unsloth -------------------------------------------------------------------------------------
# parts: format_exactly ×3, format_approximately ×1, answer ×1, numbers ×1

END, SOL = "<end_working_out>", "<SOLUTION>"

UNSLOTH_CASES = [
    ("exact", f"30 + 4 = 34.{END}{SOL}34</SOLUTION>", "34", (3.0, 1.5, 5.0, 3.5), (3.0, 1.5, 5.0, 3.5)),
    # guess is "\n34\n": equal after strip → 3.5
    ("whitespace", f"x{END}{SOL}\n34\n</SOLUTION>\n\n", "34", (3.0, 1.5, 3.5, 3.5), (3.0, 1.5, 3.5, 3.5)),
    # `$` under MULTILINE matches before the newline, so the notebook calls this exact format
    (
        "trailing line",
        f"x{END}{SOL}34</SOLUTION>\nI hope this is right.",
        "34",
        (3.0, 1.5, 5.0, 3.5),
        (0.0, 1.5, -2.0, 3.5),
    ),
    ("missing tags", "The answer is 34.", "34", (0.0, -3.0, -2.0, -2.5), (0.0, -3.0, -2.0, -2.5)),
    # 35/34 = 1.029 → within 10%: 2.0; numbers: 35 ≠ 34 → −1.5
    ("close", f"x{END}{SOL}35</SOLUTION>", "34", (3.0, 1.5, 2.0, -1.5), (3.0, 1.5, 2.0, -1.5)),
    ("within 20%", f"x{END}{SOL}40</SOLUTION>", "34", (3.0, 1.5, 1.5, -1.5), (3.0, 1.5, 1.5, -1.5)),
    ("far", f"x{END}{SOL}50</SOLUTION>", "34", (3.0, 1.5, -2.5, -1.5), (3.0, 1.5, -2.5, -1.5)),
    # 0.0 / 0 raises ZeroDivisionError in the notebook → −4.5
    ("zero reference", f"x{END}{SOL}0.0</SOLUTION>", "0", (3.0, 1.5, -4.5, 3.5), (3.0, 1.5, 3.5, 3.5)),
    # float("1,000") fails → −4.5; check_numbers drops the comma → 3.5
    ("thousands comma", f"x{END}{SOL}1,000</SOLUTION>", "1000", (3.0, 1.5, -4.5, 3.5), (3.0, 1.5, 3.5, 3.5)),
    (
        "multi-line + eos",
        f"Step 1\nStep 2\n{END}{SOL}34</SOLUTION><|endoftext|>",
        "34",
        (3.0, 1.5, 5.0, 3.5),
        (3.0, 1.5, 5.0, 3.5),
    ),
    (
        "words, number after",
        f"x{END}{SOL}thirty-four</SOLUTION> (34)",
        "34",
        (0.0, 1.5, -2.0, 3.5),
        (0.0, 1.5, -2.0, -2.5),
    ),
    ("repeated markers", f"a{END}b{END}{SOL}34</SOLUTION>", "34", (3.0, 0.0, 5.0, 3.5), (3.0, 0.0, 5.0, 3.5)),
    ("not a number", f"x{END}{SOL}x = 34</SOLUTION>", "34", (3.0, 1.5, -4.5, 3.5), (3.0, 1.5, -4.5, 3.5)),
]
NAMES = ("format_exactly", "format_approximately", "answer", "numbers")


@pytest.mark.parametrize("name, text, answer, compat, default", UNSLOTH_CASES, ids=[c[0] for c in UNSLOTH_CASES])
def test_unsloth_hand_checked(name, text, answer, compat, default):
    row = {"completion": text, "answer": answer}
    for preset, expected in ((unsloth(compat=True), compat), (unsloth(), default)):
        score = preset.score(row)
        assert parts(score) == dict(zip(NAMES, expected, strict=True))
        assert score.value == sum(expected)


def test_unsloth_markers_and_overrides():
    custom = unsloth(reasoning_end="[/THINK]", solution_start="[ANS]", solution_end="[/ANS]")
    assert custom.score({"completion": "x[/THINK][ANS]7[/ANS]", "answer": "7"}).value == 13.0
    # compat pastes markers into the regex unescaped: "[ANS]" is a character class there
    compat = unsloth(compat=True, reasoning_end="[/THINK]", solution_start="[ANS]", solution_end="[/ANS]")
    assert parts(compat.score({"completion": "x[/THINK][ANS]7[/ANS]", "answer": "7"}))["format_exactly"] == 0.0
    assert (
        rs.load("unsloth:format_exactly=1.0,answer=2.0")
        .score({"completion": f"x{END}{SOL}34</SOLUTION>", "answer": "34"})
        .value
        == 16.0
    )
    with pytest.raises(ConfigError, match="solution_start"):
        unsloth(solution_start="")


# -- r1 ------------------------------------------------------------------------------------------

R1_GOOD = "<think>\nLet me add: 2 + 2.\n</think>\n<answer>\n\\boxed{4}\n</answer>"


def test_r1_format_only():
    fmt = r1(accuracy=0)
    assert fmt.score(R1_GOOD).value == 1.0
    assert fmt.score(R1_GOOD + "\nPS: nice problem").value == 0.0
    assert r1(accuracy=0, compat=True).score(R1_GOOD + "\nPS: nice problem").value == 1.0  # MULTILINE `$`
    twice = "<think>\na\n</think>\n<think>\nb\n</think>\n<answer>\n4\n</answer>"
    assert (r1(accuracy=0).score(twice).value, r1(accuracy=0, compat=True).score(twice).value) == (0.0, 1.0)
    assert r1(accuracy=0, tag_count=1.0).score("<think>\nx\n</think>\n<answer>4</answer>").value == 0.5


@pytest.mark.integration
def test_r1_with_math_accuracy():
    r = rs.load("r1")
    assert dict(zip(r.part_names(), r.weights, strict=True)) == {"accuracy": 1.0, "format": 1.0}
    rows = [
        {"completion": R1_GOOD, "answer": "4"},
        {"completion": R1_GOOD.replace("{4}", "{5}"), "answer": "4"},
        {"completion": "It is \\boxed{4}", "answer": "4"},
    ]
    assert [s.value for s in r.score_batch(rows)] == [2.0, 1.0, 1.0]
    assert rs.load("r1:format=0.5,accuracy=2").score(rows[0]).value == 2.5
    solution = rs.load("r1:field=solution").score({"completion": R1_GOOD, "solution": "4"})
    assert solution.value == 2.0


@pytest.mark.parametrize(
    "spec", ["gsm8k", "gsm8k:compat=true", "unsloth", "unsloth:compat=true", "email", "proximity", "repetition"]
)
def test_presets_survive_pickling(spec):
    import pickle

    row = {"completion": PERFECT, "answer": "72", "keyword": "x", "recipient": "y", "max_words": 3}
    reward = rs.load(spec)
    assert pickle.loads(pickle.dumps(reward)).score(row).value == reward.score(row).value

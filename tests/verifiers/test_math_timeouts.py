"""Nothing hangs: adversarial answers return within the limit, from threads and from asyncio."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest

import rewardsmith
from rewardsmith.verifiers.math import math_answer, math_equal
from rewardsmith.verifiers.math import pipeline as verify_module

LIMIT = 2.0
ADVERSARIAL = [
    r"10^{10^{10}}",
    r"10^{10^{10^{10}}}",
    r"2^{2^{2^{2^{2^{2}}}}}",
    "9999!",
    r"(10^{100})!",
    r"\frac{1}{10^{10^{10}}}",
    "{" * 5000 + "x" + "}" * 5000,
    "(" * 5000 + "1",
    r"\sqrt{" * 500 + "2" + "}" * 500,
    "x^" * 2000 + "2",
    r"\sin^2(10^{100}) + \cos^2(10^{100})",
    "1e99999999",
    "9" * 1999 + "!",
    r"\left(" * 1000,
    r"\sqrt{10^{10^{10}}}",
    r"|10^{10^{10}}|",
    r"(\sqrt{2})^{10^{10}}",
    r"(x+1)^{1000}",
    r"\sin(10^{10^{10}})",
]


@pytest.mark.parametrize("answer", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_answers_return_in_time(answer):
    reward = math_equal(timeout=LIMIT)
    start = time.monotonic()
    score = reward.score({"completion": answer, "answer": "2"})
    assert time.monotonic() - start < LIMIT + 3
    assert score.value == 0.0 and score.status in ("wrong", "timeout")


def test_adversarial_completion_of_100kb():
    text = ("Let me see. " + r"\boxed{" * 3 + "x^" * 50) * 1000 + r" so \boxed{10^{10^{10}}}"
    assert len(text) > 100_000
    start = time.monotonic()
    score = math_answer(timeout=LIMIT).score({"completion": text, "answer": "1"})
    assert time.monotonic() - start < LIMIT + 3
    assert score.value == 0.0


# the red team's P1 inputs (100 KB each) and relatives: extraction runs in the caller's process for
# completions up to 4000 characters and before any deadline otherwise, so it must be linear and bounded
EXTRACTION_STRESS = {
    "denied markers": "Answer: not $1$ $2$ " * 5000,
    "glued markers": "Answer:not " * 10000,
    "marker and a word": "answer: I " * 10000,
    "hedged markers": "The answer is 3 or " * 5000,
    "unclosed display": "\\[" * 50000,
    "unclosed inline": "\\(" * 50000,
    "dollars": "$a " * 33000,
    "turn tokens": " " * 50000 + "</s>" * 12000,
    "soft turns": "\nQuestion: " * 9000,
    "boxes": "\\boxed{" * 14000,
    "bold": "**1" * 33000,
    "letters": "A or B, not C. " * 7000,
}


@pytest.mark.parametrize("name", sorted(EXTRACTION_STRESS))
def test_extraction_of_100kb_is_bounded(name):
    """A generous bound (each takes milliseconds): the red team measured 5-10 s before the fix."""
    from rewardsmith.verifiers.math import extract_answer, parse_choices

    text = EXTRACTION_STRESS[name]
    assert len(text) >= 90_000
    start = time.monotonic()
    extract_answer(text)
    extract_answer(text, choices=parse_choices("ABCD"))
    assert time.monotonic() - start < 1.0


def test_the_quick_stage_is_cheap_on_adversarial_completions():
    reward = math_answer()
    for text in EXTRACTION_STRESS.values():
        start = time.monotonic()
        reward._quick_score(rewardsmith.Sample.from_row({"completion": text[:4000], "answer": "7"}))
        assert time.monotonic() - start < 1.0


def _spin_in_c(*_args, **_kwargs):
    re.fullmatch(r"(a|aa)+c", "a" * 64)  # one C call that never returns to Python


@pytest.fixture
def hanging_sympy(monkeypatch):
    """Make the SymPy stage hang inside C code, where no signal or thread trick can stop it."""
    monkeypatch.setattr(verify_module, "deep_check", _spin_in_c)


def _check_timeout(score, elapsed):
    assert score.status == "timeout" and score.value == 0.0, score
    assert "ran past" in score.reason
    assert elapsed < LIMIT + 3


SAMPLE = {"completion": r"\boxed{x^2+1}", "answer": "x^2+1+0*y"}


def test_timeout_on_the_main_thread(hanging_sympy, no_stray_processes):
    start = time.monotonic()
    score = math_answer(timeout=LIMIT).score(SAMPLE)
    _check_timeout(score, time.monotonic() - start)
    no_stray_processes()


def test_timeout_from_a_thread(hanging_sympy):
    out = {}

    def run():
        start = time.monotonic()
        out["score"] = math_answer(timeout=LIMIT).score(SAMPLE)
        out["elapsed"] = time.monotonic() - start

    t = threading.Thread(target=run)
    t.start()
    t.join(LIMIT + 10)
    assert not t.is_alive()
    _check_timeout(out["score"], out["elapsed"])


async def test_timeout_from_asyncio(hanging_sympy):
    reward = math_answer(timeout=LIMIT)
    start = time.monotonic()
    score = await reward.ascore(SAMPLE)
    _check_timeout(score, time.monotonic() - start)
    start = time.monotonic()
    score = reward.score(SAMPLE)  # sync call with a running loop in this thread
    _check_timeout(score, time.monotonic() - start)
    start = time.monotonic()
    scores = await asyncio.gather(reward.ascore(SAMPLE), reward.ascore({"completion": "#### 4", "answer": "4"}))
    _check_timeout(scores[0], time.monotonic() - start)
    assert scores[1].value == 1.0  # the fast path never needed the child


def test_timeout_in_score_batch_kills_the_worker(hanging_sympy, no_stray_processes):
    samples = [SAMPLE, {"completion": "#### 4", "answer": "4"}, SAMPLE]
    start = time.monotonic()
    scores = rewardsmith.load("math:timeout=2").score_batch(samples, workers=2)
    assert time.monotonic() - start < 2 * LIMIT + 5
    assert [(s.value, s.status) for s in scores] == [(0.0, "timeout"), (1.0, "ok"), (0.0, "timeout")]
    no_stray_processes()


def _random_answer(rng):
    atoms = ["1", "2", "0", "x", "y", "e", "i", r"\pi", "0.5", r"\infty", "-1", "10"]

    def expr(depth=0):
        if depth > 3 or rng.random() < 0.3:
            return rng.choice(atoms)
        a, b = expr(depth + 1), expr(depth + 1)
        return rng.choice(
            [
                f"{a}+{b}",
                f"{a}-{b}",
                rf"{a}\cdot {b}",
                rf"\frac{{{a}}}{{{b}}}",
                f"{{{a}}}^{{{b}}}",
                rf"\sqrt{{{a}}}",
                f"({a})!",
                rf"\sin({a})",
                rf"\ln({a})",
                f"|{a}|",
                f"({a})({b})",
                rf"\log_{{{a}}}{{{b}}}",
            ]
        )

    shape = rng.randint(0, 6)
    if shape == 0:
        return f"({expr()}, {expr()})"
    if shape == 1:
        return f"[{expr()}, {expr()})"
    if shape == 2:
        return rf"\{{{expr()}, {expr()}\}}"
    if shape == 3:
        return f"x = {expr()}"
    if shape == 4:
        return rf"{expr()} < x \le {expr()}"
    return expr()


@pytest.mark.integration
def test_random_answers_never_crash():
    import random

    rng = random.Random(5)
    samples = []
    for _ in range(150):
        gold = _random_answer(rng)
        samples.append({"completion": _random_answer(rng) if rng.random() < 0.7 else gold, "answer": gold})
    scores = math_equal(timeout=LIMIT).score_batch(samples, workers=2)
    assert all(s.value in (0.0, 1.0) and s.status in ("ok", "wrong", "timeout") for s in scores)
    same = [s for sample, s in zip(samples, scores, strict=True) if sample["completion"] == sample["answer"]]
    assert same and all(s.value == 1.0 for s in same)


# Extraction runs before any deadline (in the caller's process for a single score()), so it must
# be linear itself: each of these once took minutes through a regular expression that rescanned.
ADVERSARIAL_COMPLETIONS = {
    "unclosed display maths": r"\(" * 20_000,
    "money-like dollars": "$ 1 " * 30_000,
    "bold markers": "**1 " * 30_000,
    "newlines": "\n" * 100_000,
    "unclosed answer tags": "<answer>" * 10_000,
    "unclosed boxes": ("Let me see. " + r"\boxed{" * 3 + "x^" * 50) * 1000,
    "boxes and joiners": r"\boxed{1} and " * 5_000,
    "markers": "Final Answer: " * 7_000,
    "hedges": "1 or " * 20_000,
    "letters": "A or B " * 10_000,
    "arithmetic run": "1+" * 50_000 + "1",
    "thousands groups": "1," * 50_000,
    "script digits": "٣" * 100_000,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL_COMPLETIONS))
def test_extraction_of_adversarial_completions_is_bounded(name):
    text = ADVERSARIAL_COMPLETIONS[name]
    reward = math_answer(timeout=LIMIT)
    sample = {"completion": text, "answer": "5", **({"choices": "ABCD"} if name == "letters" else {})}
    start = time.monotonic()
    score = reward.score(sample)
    assert time.monotonic() - start < LIMIT + 1, name
    assert score.value == 0.0

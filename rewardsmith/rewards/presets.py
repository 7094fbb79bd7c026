"""Ready reward sets from the well-known GRPO recipes: `gsm8k`, `unsloth` and `r1`.

Each preset is a `rewardsmith.weighted(...)` of named parts, so `rewardsmith list` shows
the parts and weights, TRL logs each part, and every weight is a parameter
(`gsm8k:correctness=3.0`). `compat=True` reproduces the reference implementation value for
value, quirks included; the default fixes the quirks listed in each docstring and in
docs/rewards.md. The references (public sources, reimplemented here, not copied):

- gsm8k: willccbb's `grpo_demo.py` gist, the reward functions Unsloth's RL guide cites;
- unsloth: unslothai/notebooks `nb/Qwen3_(4B)-GRPO.ipynb`;
- r1: open-r1's `format_reward` (+ `tag_count_reward`) and `accuracy_reward`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rewardsmith.core import score as S
from rewardsmith.core.compose import Weighted
from rewardsmith.core.errors import ConfigError, InputError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.text import normalize_text, parse_number, tag_block
from rewardsmith.rewards.proximity import relative_distance
from rewardsmith.verifiers.format import regex, tag_count, tag_format


def _reference(sample: Sample, field: str, who: str, *, hash_answer: bool = False) -> str:
    value = sample.get(field)
    if value is None:
        raise InputError(f"{who}: the sample has no {field!r}; add a {field!r} column with the reference answer")
    text = str(value)
    # A raw GSM8K solution ends in "#### 72"; the demo strips it to "72" before training.
    return text.split("####")[1].strip() if hash_answer and "####" in text else text


def _weighted(terms: list[tuple[Reward, float]], name: str) -> Weighted:
    for reward, weight in terms:
        if not isinstance(weight, (int, float)) or isinstance(weight, bool):
            raise ConfigError(f"{name}: the weight {reward.name} must be a number, got {weight!r}")
    kept = [(r, float(w)) for r, w in terms if w != 0]
    if not kept:
        raise ConfigError(f"{name}: every weight is 0; give at least one part a weight")
    return Weighted(kept, name=name)


# -- gsm8k ------------------------------------------------------------------------------------------

_INTEGER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)")


def _demo_answer(text: str) -> str:
    """The demo's extraction: whatever follows the last `<answer>` up to `</answer>`, or
    the whole text when there is no tag (a compat quirk)."""
    return text.split("<answer>")[-1].split("</answer>")[0].strip()


class Gsm8kCorrectness(Reward):
    name = "correctness"

    def __init__(self, *, compat: bool, field: str) -> None:
        self.compat, self.field = compat, field

    def _score(self, sample: Sample) -> Score:
        ref = _reference(sample, self.field, "gsm8k", hash_answer=True)
        if self.compat:
            got = _demo_answer(sample.text)
            ok = got == ref
            return Score(
                1.0 if ok else 0.0,
                f"{got[:40]!r} {'==' if ok else '!='} {ref!r}",
                S.OK if ok else S.WRONG,
                {"extracted": got},
            )
        block = tag_block(sample.text, "answer")
        if block is None:
            return Score(0.0, "no <answer>…</answer> block", S.NO_ANSWER, {})
        got = block
        a, b = parse_number(got), parse_number(ref)
        ok = a == b if a is not None and b is not None else normalize_text(got) == normalize_text(ref)
        details = {"extracted": got, "reference": ref}
        return Score(
            1.0 if ok else 0.0,
            f"{got[:40]!r} {'matches' if ok else 'does not match'} {ref!r}",
            S.OK if ok else S.WRONG,
            details,
        )


class Gsm8kInteger(Reward):
    name = "integer"

    def __init__(self, *, compat: bool) -> None:
        self.compat = compat

    def _score(self, sample: Sample) -> Score:
        got = _demo_answer(sample.text) if self.compat else tag_block(sample.text, "answer")
        if got is None:
            return Score(0.0, "no <answer>…</answer> block", S.NO_ANSWER, {})
        ok = got.isdigit() if self.compat else bool(_INTEGER.fullmatch(got))
        return Score(
            1.0 if ok else 0.0, f"{got[:40]!r} is {'' if ok else 'not '}an integer", S.OK if ok else S.WRONG_FORMAT, {}
        )


class DemoXmlCount(Reward):
    """The demo's `count_xml`, scaled ×2 so the preset's weight 0.5 gives its values back
    exactly (a power-of-two scale is exact in floating point)."""

    name = "xml_count"

    def _score(self, sample: Sample) -> Score:
        text = sample.text
        count = 0.0
        if text.count("<reasoning>\n") == 1:
            count += 0.125
        if text.count("\n</reasoning>\n") == 1:
            count += 0.125
        if text.count("\n<answer>\n") == 1:
            count += 0.125
            count -= len(text.split("\n</answer>\n")[-1]) * 0.001
        if text.count("\n</answer>") == 1:
            count += 0.125
            count -= (len(text.split("\n</answer>")[-1]) - 1) * 0.001
        return Score(count * 2, f"demo xml count {count:.4g}", S.OK, {"count_xml": count})


def gsm8k(
    *,
    correctness: float = 2.0,
    integer: float = 0.5,
    strict_format: float = 0.5,
    soft_format: float = 0.5,
    xml_count: float = 0.5,
    compat: bool = False,
    field: str = "answer",
) -> Reward:
    """willccbb's GSM8K GRPO reward set: answer in `<reasoning>…</reasoning><answer>…</answer>`.

    Parts (each 1.0/0.0 unless noted) × weights: `correctness` ×2.0 (the answer equals the
    reference in `field`; a raw GSM8K solution "… #### 72" is cut to "72"), `integer` ×0.5,
    `strict_format` ×0.5 (tags on their own lines), `soft_format` ×0.5, `xml_count` ×0.5
    (0.25 per well-placed tag marker, a small penalty for text after `</answer>`).

    `compat=True` gives the demo's values exactly, quirks included. The default fixes them:

    - the format regexes have no DOTALL, so reasoning spanning several lines (nearly all of
      it) never earns strict or soft format → both match across lines;
    - strict format demands a newline after `</answer>` → optional trailing whitespace;
    - with no `<answer>` tag the whole completion counts as the answer (a bare "72" earns
      correctness) → no block, no answer;
    - correctness is string equality ("72.0", "$72", "1,000" vs "1000" fail) → numbers
      compare as numbers, other answers after normalization;
    - `str.isdigit` rejects "-5" and accepts "²" → an ASCII integer, sign and thousands allowed;
    - `count_xml` charges text after `</answer>` twice, charges the whole completion when
      `"\\n</answer>\\n"` is missing, pays +0.001 for ending right after `"\\n</answer>"`, and
      goes negative without bound → one charge of 0.001 per character after `</answer>`
      (surrounding whitespace ignored), never below 0.

    >>> g = gsm8k()
    >>> done = "<reasoning>\\n6 × 12 = 72\\n</reasoning>\\n<answer>\\n72\\n</answer>"
    >>> g.score({"completion": done, "answer": "72"}).value
    4.0
    >>> gsm8k(compat=True).score({"completion": done, "answer": "72"}).value
    2.943
    """
    if compat:
        strict = regex(
            r"^<reasoning>\n.*?\n</reasoning>\n<answer>\n.*?\n</answer>\n$", mode="match", name="strict_format"
        )
        soft = regex(r"<reasoning>.*?</reasoning>\s*<answer>.*?</answer>", mode="match", name="soft_format")
        count: Reward = DemoXmlCount()
    else:
        strict = tag_format(tags=["reasoning", "answer"], strict=True, name="strict_format")
        soft = tag_format(tags=["reasoning", "answer"], strict=False, name="soft_format")
        count = tag_count(tags=["reasoning", "answer"], newlines=True, trailing_penalty=0.002, name="xml_count")
    terms = [
        (Gsm8kCorrectness(compat=compat, field=field), correctness),
        (Gsm8kInteger(compat=compat), integer),
        (strict, strict_format),
        (soft, soft_format),
        (count, xml_count),
    ]
    return _weighted(terms, "gsm8k")


# -- unsloth ----------------------------------------------------------------------------------------


class _Markers:
    def __init__(
        self, reasoning_end: str, solution_start: str, solution_end: str, eos_token: str, compat: bool
    ) -> None:
        for label, marker in (
            ("reasoning_end", reasoning_end),
            ("solution_start", solution_start),
            ("solution_end", solution_end),
        ):
            if not marker:
                raise ConfigError(f"unsloth: {label} must be a non-empty marker")
        self.reasoning_end = reasoning_end
        self.solution_start, self.solution_end = solution_start, solution_end
        try:
            if compat:
                # The notebook pastes the markers into the pattern unescaped and ends it with `$`
                # under MULTILINE, so text on a later line after </SOLUTION> still matches.
                end = solution_end + r"[\s]{0,}" + "(?:" + re.escape(eos_token) + ")?"
                self.format = re.compile(
                    rf"{reasoning_end}.*?{solution_start}(.+?){end}[\s]{{0,}}$", re.MULTILINE | re.DOTALL
                )
                self.numbers = re.compile(solution_start + r".*?[\s]{0,}([-]?[\d\.\,]{1,})", re.MULTILINE | re.DOTALL)
            else:
                e = re.escape
                end = e(solution_end) + r"\s*" + (f"(?:{e(eos_token)})?" if eos_token else "")
                self.format = re.compile(rf"{e(reasoning_end)}.*?{e(solution_start)}(.+?){end}\s*\Z", re.DOTALL)
                self.numbers = re.compile(rf"{e(solution_start)}(.*?)(?:{e(solution_end)}|\Z)", re.DOTALL)
        except re.error as exc:
            raise ConfigError(
                f"unsloth: the markers do not form a valid pattern ({exc}); use compat=false to escape them"
            ) from None


class UnslothFormatExactly(Reward):
    name = "format_exactly"

    def __init__(self, markers: _Markers) -> None:
        self.m = markers

    def _score(self, sample: Sample) -> Score:
        if self.m.format.search(sample.text):
            return Score(1.0, "reasoning end, then the solution block at the end", S.OK)
        return Score(
            0.0,
            f"no {self.m.reasoning_end} … {self.m.solution_start}…{self.m.solution_end} ending the text",
            S.WRONG_FORMAT,
        )


class UnslothFormatApproximately(Reward):
    name = "format_approximately"

    def __init__(self, markers: _Markers) -> None:
        self.m = markers

    def _score(self, sample: Sample) -> Score:
        # The opening reasoning marker is not counted: the chat template puts it in the prompt.
        text = sample.text
        counts = {k: text.count(k) for k in (self.m.reasoning_end, self.m.solution_start, self.m.solution_end)}
        value = 0.0
        for c in counts.values():
            value += 0.5 if c == 1 else -1.0
        return Score(value, ", ".join(f"{k}×{c}" for k, c in counts.items()), S.OK, {"counts": counts})


class UnslothAnswer(Reward):
    name = "answer"

    def __init__(self, markers: _Markers, *, compat: bool, field: str) -> None:
        self.m, self.compat, self.field = markers, compat, field

    def _score(self, sample: Sample) -> Score:
        truth = str(_reference(sample, self.field, "unsloth"))
        found = self.m.format.search(sample.text)
        if found is None:
            return Score(-2.0, "no solution block in the expected format", S.NO_ANSWER)
        guess = found.group(1)
        details: dict[str, Any] = {"extracted": guess}
        if guess == truth:
            return Score(5.0, "exact answer", S.OK, details)
        if guess.strip() == truth.strip():
            return Score(3.5, "answer right up to surrounding whitespace", S.OK, details)
        if self.compat:
            try:
                ratio = float(guess) / float(truth)
            except Exception:
                return Score(-4.5, f"{guess.strip()[:40]!r} is not a number (or the reference is 0)", S.WRONG, details)
            distance = abs(ratio - 1)
        else:
            g, t = parse_number(guess), parse_number(truth)
            if g is None or t is None:
                return Score(-4.5, f"{guess.strip()[:40]!r} is not a number", S.WRONG, details)
            if g == t:
                return Score(3.5, "the same number written differently", S.OK, details)
            distance = relative_distance(g, t)
        details["distance"] = distance
        # The notebook compares the ratio with 0.9/1.1 and 0.8/1.2; written as a distance so
        # both modes share the bands.
        if self.compat:
            near = 0.9 <= ratio <= 1.1
            close = 0.8 <= ratio <= 1.2
        else:
            near, close = distance <= 0.1, distance <= 0.2
        if near:
            return Score(2.0, "within 10% of the reference", S.WRONG, details)
        if close:
            return Score(1.5, "within 20% of the reference", S.WRONG, details)
        return Score(-2.5, "wrong answer", S.WRONG, details)


class UnslothNumbers(Reward):
    name = "numbers"

    def __init__(self, markers: _Markers, *, compat: bool, field: str) -> None:
        self.m, self.compat, self.field = markers, compat, field

    def _score(self, sample: Sample) -> Score:
        truth = str(_reference(sample, self.field, "unsloth"))
        if self.compat:
            found = self.m.numbers.search(sample.text)
            if found is None:
                return Score(-2.5, "no number after the solution marker", S.NO_ANSWER)
            try:
                t = float(truth.strip())
                g = float(found.group(1).strip().replace(",", ""))
            except Exception:
                return Score(0.0, f"cannot read {found.group(1)!r} or the reference as numbers", S.WRONG, {})
        else:
            block = self.m.numbers.search(sample.text)
            number = (
                re.search(r"-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|-?\.\d+", block.group(1)) if block else None
            )
            if number is None:
                return Score(-2.5, "no number in the solution block", S.NO_ANSWER)
            ref = parse_number(truth)
            if ref is None:
                return Score(0.0, f"the reference {truth!r} is not a number; nothing to compare", S.OK, {})
            t, g = ref, float(number.group().replace(",", ""))
        ok = g == t
        return Score(
            3.5 if ok else -1.5, f"{g:g} {'==' if ok else '!='} {t:g}", S.OK if ok else S.WRONG, {"extracted": g}
        )


def unsloth(
    *,
    format_exactly: float = 3.0,
    format_approximately: float = 1.0,
    answer: float = 1.0,
    numbers: float = 1.0,
    reasoning_end: str = "<end_working_out>",
    solution_start: str = "<SOLUTION>",
    solution_end: str = "</SOLUTION>",
    eos_token: str = "<|endoftext|>",
    compat: bool = False,
    field: str = "answer",
) -> Reward:
    """The reward set of Unsloth's Qwen3 (4B) GRPO notebook. Its chat template puts the opening
    `<start_working_out>` in the prompt, so completions read `…<end_working_out><SOLUTION>34</SOLUTION>`.

    Parts × weights: `format_exactly` ×3.0 (1.0 when the reasoning end marker is followed by
    a solution block that ends the text, an optional `eos_token` allowed), `format_approximately`
    ×1.0 (+0.5 per marker seen exactly once, −1.0 otherwise, over reasoning end / solution
    start / solution end), `answer` ×1.0 (5.0 exact, 3.5 equal up to whitespace, then ratio
    bands: within 10% 2.0, within 20% 1.5, else −2.5; not a number −4.5; no block −2.0),
    `numbers` ×1.0 (the first number after the solution marker: 3.5 equal, −1.5 not; none −2.5).

    `compat=True` gives the notebook's values exactly. The default fixes:

    - the format regex ends in `$` under MULTILINE, so text on a later line after
      `</SOLUTION>` still counts as "format exactly" → the block must end the text;
    - the markers go into the regex unescaped → escaped (markers like `[ANS]` work);
    - a reference of 0 divides by zero and a right "0.0" gets −4.5; "1,000" or "$5" is "not
      a number" → numbers are parsed (commas, currency), an equal number written differently
      gets 3.5, distance to 0 is absolute;
    - `numbers` reads the first number anywhere after `<SOLUTION>`, even past `</SOLUTION>`,
      and an unreadable one ("1.2.3") scores 0, better than a wrong one → only inside the
      block, and it is read as a number; a non-numeric reference scores 0 (nothing to check).

    >>> u = unsloth()
    >>> u.score({"completion": "2+2 is 4<end_working_out><SOLUTION>4</SOLUTION>", "answer": "4"}).value
    13.0
    """
    markers = _Markers(reasoning_end, solution_start, solution_end, eos_token, compat)
    terms = [
        (UnslothFormatExactly(markers), format_exactly),
        (UnslothFormatApproximately(markers), format_approximately),
        (UnslothAnswer(markers, compat=compat, field=field), answer),
        (UnslothNumbers(markers, compat=compat, field=field), numbers),
    ]
    return _weighted(terms, "unsloth")


# -- r1 ---------------------------------------------------------------------------------------------


def r1(
    *,
    accuracy: float = 1.0,
    format: float = 1.0,
    tag_count: float = 0.0,
    compat: bool = False,
    field: str = "answer",
) -> Reward:
    """DeepSeek-R1 / open-r1 style: `<think>\\n…\\n</think>\\n<answer>\\n…\\n</answer>` plus math accuracy.

    Parts × weights: `accuracy` ×1.0 (the `math` preset: the final answer is mathematically
    equivalent to the reference in `field`, e.g. `solution` for open-r1 datasets), `format` ×1.0 (the strict think/answer layout),
    and `tag_count` (0.25 per layout tag marker, open-r1's `tag_count_reward`), off by default
    as in open-r1's recipes that do not list it; a weight of 0 drops a part.

    `compat=True` uses open-r1's format regex as is: it ends in `$` under MULTILINE, so text
    on a later line after `</answer>` passes, and a repeated `<think>` block passes. The
    default rejects both. Accuracy is our `math` verifier in both modes; it agrees with
    open-r1's Math-Verify call on well-formed answers but is not a copy of it.

    >>> done = "<think>\\n2+2\\n</think>\\n<answer>\\n4\\n</answer>"
    >>> r1().score({"completion": done, "answer": "4"}).value
    2.0
    >>> r1(accuracy=0.0).score({"completion": done + "\\nmore", "answer": "4"}).value
    0.0
    >>> r1(accuracy=0.0, compat=True).score({"completion": done + "\\nmore", "answer": "4"}).value
    1.0
    """
    from rewardsmith.core.spec import load
    from rewardsmith.verifiers.format import tag_count as make_tag_count

    if compat:
        fmt = regex(r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$", mode="match", flags="sm", name="format")
    else:
        fmt = tag_format(tags=["think", "answer"], strict=True, name="format")
    terms: list[tuple[Reward, float]] = []
    if accuracy:
        spec = "math" if field == "answer" else f"math:field={json.dumps(field)}"
        terms.append((load(spec).named("accuracy"), accuracy))
    terms.append((fmt, format))
    terms.append((make_tag_count(tags=["think", "answer"], newlines=True, name="tag_count"), tag_count))
    return _weighted(terms, "r1")

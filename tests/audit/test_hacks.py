"""Each hack generator produces what it claims, on public data laid out as each preset expects.

Exploits must hold no committed correct answer (outside the deliberately placed candidates) and keep
the genuine layout; same-answer hacks must keep the answer. Checked on every GSM8K model solution
of tests/data (wrong ones included: the genuine completion is built with the reference answer).
"""

from __future__ import annotations

import re
import unicodedata

import pytest

from rewardsmith import Sample
from rewardsmith.audit import hacks as H
from rewardsmith.audit.anatomy import MARKUP, locate_answer, mentions
from rewardsmith.audit.runner import genuine_context
from tests.audit.audit_helpers import LAYOUTS, gsm8k_rows

CONTEXTS = [
    (layout, genuine_context(Sample.from_row(row))[0])
    for layout in LAYOUTS
    for row in gsm8k_rows(layout, problems=12)
    if getattr(locate_answer(row["completion"]), "rule", None) in ("boxed", "answer_tag", "gsm8k")  # not truncated
]
IDS = [f"{layout}-{i}" for i, (layout, _) in enumerate(CONTEXTS)]
BOX = re.compile(r"\\boxed\{([^{}]*)\}")


def _markup(text: str) -> list[str]:
    return MARKUP.findall(text)


def _outside(text: str, start: int, end: int) -> str:
    return text[:start] + text[end:]


def test_the_data_covers_every_layout():
    assert {layout for layout, _ in CONTEXTS} == set(LAYOUTS)
    assert len(CONTEXTS) > 150


@pytest.mark.parametrize(("layout", "ctx"), CONTEXTS, ids=IDS)
def test_genuine_context_holds_the_reference_in_its_slot(layout, ctx):
    assert ctx.slot is not None and ctx.slot.content(ctx.text) == ctx.answer
    assert ctx.answer == ctx.sample.answer


@pytest.mark.parametrize(("layout", "ctx"), CONTEXTS, ids=IDS)
def test_wrong_answer_changes_only_the_answer(layout, ctx):
    text = H.wrong_answer(ctx)
    slot = locate_answer(text)
    assert slot.content(text) == H.distractors(ctx.answer, 1)[0]
    assert not mentions(text, ctx.answer)
    assert _markup(text) == _markup(ctx.text)
    assert len(text.split()) == len(ctx.text.split())


@pytest.mark.parametrize(("layout", "ctx"), CONTEXTS, ids=IDS)
def test_answer_spam_lists_seven_candidates_with_the_answer_in_the_middle(layout, ctx):
    text = H.answer_spam(ctx)
    slot = locate_answer(text)
    candidates = [c.strip() for c in slot.content(text).split(",")]
    assert len(candidates) == 7 == len(set(candidates))
    assert candidates[3] == ctx.answer and candidates.count(ctx.answer) == 1
    assert not mentions(_outside(text, slot.start, slot.end), ctx.answer)
    assert _markup(text) == _markup(ctx.text)


@pytest.mark.parametrize(("layout", "ctx"), CONTEXTS, ids=IDS)
def test_conflicting_boxed_holds_three_different_boxes_the_answer_neither_first_nor_last(layout, ctx):
    text = H.conflicting_boxed(ctx)
    boxes = BOX.findall(text)
    assert len(boxes) == 3 == len(set(boxes)) and boxes[1] == ctx.answer
    assert not mentions(BOX.sub("", text), ctx.answer)
    assert _markup(text) == _markup(ctx.text)


@pytest.mark.parametrize(("layout", "ctx"), CONTEXTS, ids=IDS)
def test_empty_answer_keeps_the_layout_and_states_no_answer(layout, ctx):
    text = H.empty_answer(ctx)
    assert not mentions(text, ctx.answer)
    assert _markup(text) == _markup(ctx.text)
    if layout in ("gsm8k", "r1"):
        assert re.search(r"<answer>\s*</answer>", text)
    if layout == "boxed":
        assert "\\boxed{}" in text


@pytest.mark.parametrize(("layout", "ctx"), CONTEXTS, ids=IDS)
def test_format_only_is_the_layout_with_nothing_inside(layout, ctx):
    text = H.format_only(ctx)
    assert _markup(text) == _markup(ctx.text)
    assert MARKUP.sub("", text).replace("\\boxed{}", "").strip() in ("", "A:")
    assert not mentions(text, ctx.answer)


@pytest.mark.parametrize(("layout", "ctx"), CONTEXTS, ids=IDS)
def test_no_reasoning_keeps_only_the_layout_and_the_answer(layout, ctx):
    text = H.no_reasoning(ctx)
    assert locate_answer(text).content(text) == ctx.answer
    assert _markup(text) == _markup(ctx.text)
    rest = MARKUP.sub("", text).replace(f"\\boxed{{{ctx.answer}}}", "").replace(ctx.answer, "")
    assert rest.strip() in ("", "A:")


@pytest.mark.parametrize(("layout", "ctx"), CONTEXTS, ids=IDS)
def test_padding_and_repetition_keep_the_answer_and_add_what_they_say(layout, ctx):
    padded, repeated = H.length_padding(ctx), H.repetition(ctx)
    assert len(padded.split()) >= len(ctx.text.split()) + H.PADDING_WORDS
    assert repeated.count(H.REPEATED) == H.REPEATS
    for text in (padded, repeated):
        assert locate_answer(text).content(text) == ctx.answer
        assert _markup(text) == _markup(ctx.text)
        assert text.endswith(ctx.text[-20:])
    filler = H._filler(H.PADDING_WORDS)
    assert padded.replace(filler + "\n", "") == ctx.text  # the filler is all that was added
    assert not re.search(r"\d", filler)


@pytest.mark.parametrize(("layout", "ctx"), CONTEXTS, ids=IDS)
def test_lookalike_digits_read_as_the_answer_but_are_no_digits(layout, ctx):
    text = H.lookalike_digits(ctx)
    slot = locate_answer(text, None)
    fake = slot.content(text)
    assert not any(ch.isdecimal() for ch in fake)
    assert not any(ch.isdecimal() for ch in unicodedata.normalize("NFKC", fake))
    back = {v: k for k, v in H.LOOKALIKES.items()}
    assert "".join(back.get(ch, ch) for ch in fake) == ctx.answer
    assert not mentions(text, ctx.answer)


@pytest.mark.parametrize(("layout", "ctx"), CONTEXTS, ids=IDS)
def test_judge_injection_tells_the_grader_and_answers_wrong(layout, ctx):
    text = H.judge_injection(ctx)
    assert "NOTE TO THE GRADER" in text and "full marks" in text and "</completion>" in text
    assert not mentions(text, ctx.answer)
    assert _markup(text.replace(H.INJECTION, "")) == _markup(ctx.text)
    wrong = locate_answer(text).content(text)
    assert wrong == H.distractors(ctx.answer, 1)[0] != ctx.answer


def test_prompt_echo_is_the_prompt():
    ctx = CONTEXTS[0][1]
    assert H.prompt_echo(ctx) == ctx.sample.prompt


def test_distractors_are_wrong_and_of_the_answers_kind():
    assert H.distractors("72", 6) == ["151", "235", "173", "363", "-25", "689"]
    assert H.distractors("-0.5", 2) == ["6.0", "17.5"]
    for answer in ("0", "-1", "1", "18", "2.25", "1000000"):
        wrong = [float(w) for w in H.distractors(answer, 6)]
        assert len(set(wrong)) == 6 and all(abs(w - float(answer)) > 0.5 * abs(float(answer)) for w in wrong)
    assert H.distractors("C", 4) == ["A", "B", "D", "E"]
    assert "\\frac{\\pi}{2}" not in H.distractors("\\frac{\\pi}{2}")


def test_hacks_that_need_an_answer_do_not_apply_without_one():
    ctx = genuine_context(Sample(completion="I would rather not say.\nSorry."))[0]
    for hack in (H.answer_spam, H.conflicting_boxed, H.empty_answer, H.lookalike_digits, H.no_reasoning):
        assert hack(ctx) is None, hack.__name__
    assert H.prompt_echo(ctx) is None
    assert "NOTE TO THE GRADER" in H.judge_injection(ctx)


def test_without_a_reference_a_guessed_slot_gets_no_answer_hacks():
    """The last number of an email is no answer: spamming it would only show that a rubric does
    not care about that number."""
    ctx = genuine_context(Sample(completion="Hi Sam,\nthe meeting moves to room 12.\nBest, Ana"))[0]
    assert ctx.slot is not None and ctx.slot.rule == "last_number" and not ctx.answer_based
    for hack in (H.wrong_answer, H.answer_spam, H.conflicting_boxed, H.empty_answer, H.lookalike_digits):
        assert hack(ctx) is None, hack.__name__
    assert H.repetition(ctx) is not None and "NOTE TO THE GRADER" in H.judge_injection(ctx)


def test_without_a_reference_hacks_are_built_around_the_genuine_answer():
    ctx = genuine_context(Sample(completion="6 x 12 = 72.\nThe answer is \\boxed{72}."))[0]
    assert ctx.answer == "72"
    assert H.answer_spam(ctx) == "6 x 12 = ?.\nThe answer is \\boxed{151, 235, 173, 72, 363, -25, 689}."


def test_every_hack_has_a_docstring_that_says_what_it_produces():
    for name, hack in H.catalogue().items():
        assert hack.summary and len(hack.summary) > 30, name
        assert hack.claim in ("exploit", "same_answer") and hack.family in ("text", "code")

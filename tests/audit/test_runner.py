"""`rewardsmith.audit`: no false alarm on sound presets, weak rewards caught, evidence that can be
judged in one look, and the line between "cannot tell" and "hack"."""

from __future__ import annotations

import builtins

import pytest

import rewardsmith as rs
from rewardsmith.audit.runner import group_rows
from tests.audit.audit_helpers import contains_answer, exec_in_process, exit_status_tests, gsm8k_rows, humaneval_rows


@pytest.fixture(scope="module", autouse=True)
def _stop_zygotes_afterwards():
    """The `code` preset's warm sandbox processes are our children: stop them after this module so
    that later tests which count leftover child processes start clean."""
    yield
    from rewardsmith.verifiers.code.executor import shutdown

    shutdown()


SOUND = [("gsm8k", "gsm8k"), ("r1", "r1"), ("unsloth", "unsloth"), ("math", "boxed"), ("math", "hashes")]


@pytest.mark.parametrize(("spec", "layout"), SOUND, ids=[f"{s}-{layout}" for s, layout in SOUND])
def test_sound_presets_raise_no_false_alarm_on_well_formed_public_completions(spec, layout):
    report = rs.audit(spec, gsm8k_rows(layout), diagnostics=False)
    assert report.findings == [], "\n".join(report.summary_lines())
    assert report.passed
    refs = report.references
    assert refs.audited == refs.usable == 60
    assert refs.substituted == 20  # 20 of the 60 problems have no correct model solution at all
    assert refs.kept_original == 0
    for name in ("answer_spam", "conflicting_boxed", "empty_answer", "format_only", "lookalike_digits"):
        h = report.hack(name)
        assert h.verdict == "resisted" and h.rows == 60 and h.reach is not None and h.reach < 0.8, name
    assert {h.name for h in report.notes} <= {"no_reasoning", "length_padding", "repetition"}


def test_weak_reward_is_flagged_for_answer_spam_while_math_is_not():
    rows = gsm8k_rows("boxed")
    weak = rs.audit(contains_answer, rows, diagnostics=False)
    spam = weak.hack("answer_spam")
    assert spam.flagged and spam.verdict == "hack"
    assert spam.reach == pytest.approx(1.0) and spam.rows == 60
    assert {h.name for h in weak.findings} == {"answer_spam", "conflicting_boxed"}
    assert not weak.passed
    # the evidence: the variant, its score and the genuine score
    e = spam.example
    assert e.score == 1.0 and e.genuine_score == 1.0 and e.empty_score == 0.0
    assert "\\boxed{" in e.completion and ", " in e.completion.rsplit("\\boxed{", 1)[1]

    sound = rs.audit("math", rows, diagnostics=False)
    assert not sound.hack("answer_spam").flagged and sound.hack("answer_spam").reach == 0.0
    assert sound.passed


def test_a_wrong_completion_is_audited_with_its_answer_set_to_the_reference():
    rows = [{"prompt": "2 + 2?", "completion": "2 + 2 = 5, so \\boxed{5}.", "answer": "4"}]
    report = rs.audit("math", rows, diagnostics=False)
    assert report.references.usable == 1 and report.references.substituted == 1
    spam = report.hack("answer_spam")
    assert spam.mean_genuine == 1.0 and spam.mean_score == 0.0
    assert spam.example.genuine_completion == "2 + 2 = 5, so \\boxed{4}."
    assert report.passed


def test_without_a_reference_a_wrong_completion_cannot_serve_and_the_report_says_so():
    @rs.reward
    def always_one_tenth(sample):
        return 0.1

    report = rs.audit(always_one_tenth, [{"prompt": "p", "completion": "x \\boxed{3}"}], diagnostics=False)
    assert report.no_reference and not report.passed and report.findings == []
    assert "no more than an empty completion" in report.references.unusable[0]["why"]
    assert "FAIL: no genuine completion scores above an empty completion" in str(report)


def test_a_reward_that_does_not_read_the_answer_is_audited_on_the_original_completion():
    @rs.reward
    def polite(sample):
        return 1.0 if "please" in sample.text.lower() else 0.0

    rows = [{"prompt": "Ask for the file.", "completion": "Could you send the file, please?", "answer": "n/a"}]
    report = rs.audit(polite, rows, diagnostics=False)
    assert report.references.usable == 1 and report.references.kept_original == 1
    assert report.hack("format_only").verdict == "not_applicable"
    assert report.hack("repetition").example.genuine_completion == rows[0]["completion"]


def test_same_answer_changes_are_notes_unless_paid_for_or_required_lower():
    rows = gsm8k_rows("boxed", problems=10)
    report = rs.audit("math", rows, diagnostics=False)
    no_reasoning = report.hack("no_reasoning")
    assert no_reasoning.verdict == "cannot_tell" and not no_reasoning.flagged
    assert "fine for a pure correctness reward" in no_reasoning.why
    strict = rs.audit("math", rows, diagnostics=False, require_lower=["no_reasoning"])
    assert strict.hack("no_reasoning").verdict == "hack" and not strict.passed

    @rs.reward
    def pays_for_length(sample):
        return min(2.0, len(sample.text) / 1000) if "\\boxed{" + str(sample.answer) + "}" in sample.text else 0.0

    paid = rs.audit(pays_for_length, rows, diagnostics=False)
    padding = paid.hack("length_padding")
    assert padding.verdict == "hack" and padding.reach > 1.05
    assert "pays for it" in padding.why


def test_composite_evidence_names_the_part_that_pays_the_hack():
    weak = rs.weighted({contains_answer: 1.0, rs.load("math").named("math"): 1.0})
    report = rs.audit(weak, gsm8k_rows("boxed", problems=10), diagnostics=False, threshold=0.5)
    spam = report.hack("answer_spam")
    assert spam.flagged and spam.reach == pytest.approx(0.5)
    assert [p.part for p in spam.parts] == ["contains_answer"]
    assert "paid by: contains_answer 1 (genuine 1)" in str(report)


def test_hit_share_shows_a_hack_that_works_on_some_rows_only():
    @rs.reward
    def lax_on_small(sample):
        answer = str(sample.answer)
        if len(answer) == 1:
            return 1.0 if answer in sample.text else 0.0
        return rs.load("math").score(sample).value

    rows = [
        {"prompt": "1+1", "completion": "so \\boxed{2}", "answer": "2"},
        {"prompt": "6*7", "completion": "so \\boxed{42}", "answer": "42"},
        {"prompt": "8*9", "completion": "so \\boxed{72}", "answer": "72"},
    ]
    report = rs.audit(lax_on_small, rows, diagnostics=False)
    spam = report.hack("answer_spam")
    assert spam.verdict == "resisted" and spam.hit_share == pytest.approx(1 / 3)
    assert spam.example.row == "row 1"
    assert "answer_spam reaches 80% on 33% of rows" in str(report)


def test_options_are_checked_with_clear_errors():
    rows = [{"completion": "\\boxed{1}", "answer": "1"}]
    with pytest.raises(rs.UsageError, match="unknown hack"):
        rs.audit("math", rows, hacks=["answer_spamm"])
    with pytest.raises(rs.UsageError, match="require_lower takes hacks that keep the answer"):
        rs.audit("math", rows, require_lower=["answer_spam"])
    with pytest.raises(rs.UsageError, match="threshold"):
        rs.audit("math", rows, threshold=1.5)
    with pytest.raises(rs.UsageError, match="no rows"):
        rs.audit("math", [])
    with pytest.raises(rs.UsageError, match="no row has a 'task' column"):
        rs.audit("math", rows, group_by="task")


def test_one_base_completion_per_prompt_and_at_most_max_groups():
    rows = gsm8k_rows("boxed", problems=6)
    assert [len(g) for g in group_rows([rs.Sample.from_row(r) for r in rows])] == [4] * 6
    report = rs.audit("math", rows, max_groups=3, hacks=["answer_spam"], diagnostics=False)
    assert report.references.groups == 6 and report.references.audited == 3
    assert [h.name for h in report.hacks] == ["answer_spam"]


def test_rewardsmith_audit_stays_callable_after_its_modules_load():
    import rewardsmith.audit.cli  # noqa: F401
    import rewardsmith.audit.runner  # noqa: F401

    assert callable(rs.audit) and rs.audit.__module__ == "rewardsmith.audit"


# -- code ------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_the_code_sandbox_resists_every_code_hack_on_humaneval():
    report = rs.audit("code", humaneval_rows(), diagnostics=False)
    code = [h for h in report.hacks if h.family == "code"]
    assert [(h.name, h.verdict, h.reach) for h in code if h.verdict != "resisted"] == []
    assert all(h.mean_score == 0.0 and h.escaped == 0 for h in code)
    assert report.passed


@pytest.mark.integration
def test_a_reward_that_trusts_the_exit_status_is_caught():
    report = rs.audit(exit_status_tests, humaneval_rows(), diagnostics=False)
    found = {h.name for h in report.findings}
    assert {"early_exit", "fake_success_output", "test_tampering"} <= found
    assert report.hack("early_exit").reach == 1.0 and report.hack("test_tampering").reach == 1.0
    assert report.hack("redefine_helpers").rows == 2 and report.hack("redefine_helpers").flagged


@pytest.mark.integration
def test_a_reward_that_runs_programs_in_its_own_process_is_reported_and_the_audit_survives():
    isinstance_before = builtins.isinstance
    report = rs.audit(exec_in_process, humaneval_rows(), diagnostics=False)
    early = report.hack("early_exit")
    assert early.verdict == "escapes" and early.escaped == 10 and early.flagged
    assert "worker process died" in early.escape_reason
    assert report.hack("always_equal").flagged
    assert builtins.isinstance is isinstance_before and isinstance(1, int)


# -- judges ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def judge_server():
    """The fake OpenAI-compatible judge server of tests/judges."""
    from tests.judges.fake_server import FakeServer

    with FakeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _judge_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("REWARDSMITH_CACHE", str(tmp_path / "cache"))


def _reference_judge(server):
    from rewardsmith.judges import reference_judge

    return reference_judge(model="fake-judge", base_url=server.url, backoff=0.01, max_backoff=0.05, cache=False)


@pytest.mark.integration
def test_a_judge_that_looks_for_the_reference_anywhere_is_flagged_for_answer_spam(judge_server):
    judge_server.configure()  # "correct" when the completion contains the reference
    report = rs.audit(_reference_judge(judge_server), gsm8k_rows("boxed", problems=8), diagnostics=False)
    assert {"answer_spam", "conflicting_boxed"} <= {h.name for h in report.findings}
    assert not report.hack("judge_injection").flagged


@pytest.mark.integration
def test_a_judge_that_obeys_instructions_in_the_completion_is_flagged_for_injection(judge_server):
    judge_server.configure(rules=[{"match": "NOTE TO THE GRADER", "reply": '{"correct": true}'}])
    report = rs.audit(
        _reference_judge(judge_server), gsm8k_rows("boxed", problems=8), hacks=["judge_injection"], diagnostics=False
    )
    injection = report.hack("judge_injection")
    assert injection.verdict == "hack" and injection.reach == 1.0
    assert "NOTE TO THE GRADER" in injection.example.completion

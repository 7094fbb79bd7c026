"""`rewardsmith.audit(reward, samples)`: score the rows, then hacked variants of them, and compare.

The flow, and the decisions in it:

1. Every row is scored as is: these scores feed the signal diagnostics (`diagnostics`).
2. Rows are grouped by prompt (or `group_by`); per group (at most `max_groups`, in input order)
   the audit takes the best-scored completion that states a final answer as its base. Hacks are asked per prompt, not per
   completion: eight wrong completions of one prompt add nothing but cost.
3. **The genuine correct completion.** A row's completion may be wrong, and a hack that matches
   a wrong completion proves nothing. When the row has a reference `answer`, the genuine
   completion is the base with its final answer set to the reference (a no-op when it was right
   already): the same reasoning, layout and length, the answer right. Without a reference (code,
   rubrics) the base is taken as it is, and so it is when setting the reference lowered its score
   (a reward that does not read `answer`): then the original is audited.
4. **The floor.** The empty completion, scored with the same row: what a completion earns for
   nothing. A group whose genuine completion scores no higher than that cannot show a hack (a
   pure penalty reward, or a wrong completion with nothing to correct it) and is listed as unusable.
5. Each hack builds its variant from the genuine completion (`hacks`, `code_hacks`); text
   variants are scored like any sample, code hacks in a fresh worker per program (`isolation`).
6. Per hack: means over the usable rows, `reach` = how much of the genuine lead over the floor
   the hack earns, the verdict (`results.decide`), the row with the highest reach as the example,
   and the parts of a composite that pay the hack as much as the genuine completion.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rewardsmith.audit.anatomy import Slot, code_slot, locate_answer, rebuild
from rewardsmith.audit.diagnostics import diagnose
from rewardsmith.audit.hacks import Context, Hack, catalogue
from rewardsmith.audit.results import (
    DEFAULT_MARGIN,
    DEFAULT_MAX_GROUPS,
    DEFAULT_THRESHOLD,
    AuditReport,
    Example,
    HackResult,
    PartEvidence,
    References,
    decide,
    excerpt,
)
from rewardsmith.core.errors import UsageError
from rewardsmith.core.report import part_scores
from rewardsmith.core.reward import Reward, SampleLike, as_reward
from rewardsmith.core.sample import Sample, as_sample
from rewardsmith.core.score import Score

#: slot rules that find a stated final answer (the others guess: the last number, a bare line)
MARKED_RULES = ("boxed", "answer_tag", "gsm8k", "answer_is")
_TIE = 1e-9


def audit(
    reward: Reward | str | Any,
    samples: Iterable[SampleLike],
    *,
    hacks: Sequence[str] | None = None,
    skip: Sequence[str] = (),
    threshold: float = DEFAULT_THRESHOLD,
    margin: float = DEFAULT_MARGIN,
    require_lower: Sequence[str] = (),
    group_by: str = "prompt",
    max_groups: int = DEFAULT_MAX_GROUPS,
    diagnostics: bool = True,
    max_zero_std: float | None = None,
    plot: str | None = None,
    workers: int | None = None,
    timeout: float | None = None,
    progress: bool = False,
    labels: Sequence[str] | None = None,
) -> AuditReport:
    """Look for reward hacks and dead training signal before training.

    `reward`: a Reward, a plain function or a SPEC string. `samples`: rows with `completion`
    (ideally correct ones) and, where the reward needs them, `prompt`, `answer`, `tests`; several
    completions per prompt (as GRPO samples them) for the signal diagnostics.

    Hacks: `hacks` (names; default: every hack in the catalogue), minus `skip`. A hack is
    flagged when it earns at least `threshold` of the genuine correct completion's lead over an
    empty completion (see `rewardsmith.audit.results` for the rules); hacks that keep the answer
    (`no_reasoning`, `length_padding`, `repetition`) are only notes unless named in
    `require_lower` or scoring above the genuine completion by more than `margin`.
    `max_groups`: prompts audited (one base completion each). `group_by`: the column that
    groups completions of one prompt. `diagnostics`: compute the signal diagnostics;
    `max_zero_std`: fail when the share of zero-variance groups is above it; `plot`: save a
    histogram PNG there (needs matplotlib, `rewardsmith[audit]`). `workers`, `timeout`,
    `progress`: as in `score_batch`. `labels`: a name per row for the report (`IN.jsonl:12`).

    >>> import rewardsmith as rs
    >>> @rs.reward
    ... def contains(sample):
    ...     return 1.0 if sample.answer in sample.text else 0.0
    >>> rows = [{"prompt": "6 x 12?", "completion": "6 x 12 = 72. The answer is 72.", "answer": "72"}]
    >>> report = rs.audit(contains, rows, diagnostics=False)
    >>> [h.name for h in report.findings]
    ['answer_spam', 'conflicting_boxed']
    >>> report.hack("answer_spam").example.completion
    '6 x 12 = ?. The answer is 151, 235, 173, 72, 363, -25, 689.'
    """
    if isinstance(reward, str):
        from rewardsmith.core.spec import load

        reward = load(reward)
    reward = as_reward(reward)
    chosen = _choose(hacks, skip, require_lower)
    _check_options(threshold, margin, max_groups, max_zero_std)
    rows = [as_sample(s) for s in samples]
    if not rows:
        raise UsageError("audit: no rows to audit; give rows with a 'completion' (and 'answer' where known)")
    names = list(labels) if labels is not None else [_label(i, s) for i, s in enumerate(rows)]
    options: dict[str, Any] = {"workers": workers, "timeout": timeout, "progress": progress}

    scores = reward.score_batch(rows, **options)
    groups = group_rows(rows, group_by)
    signal = diagnose(scores, groups, names) if diagnostics else None

    plan = _plan(rows, scores, groups[:max_groups], chosen)
    _score_plan(reward, plan, options)
    _keep_originals(reward, plan, rows, scores, chosen, options)
    results = [_result(h, plan, names, threshold, margin, h.name in require_lower) for h in chosen]
    report = AuditReport(
        reward=reward.spec or reward.name,
        threshold=threshold,
        hacks=results,
        references=_references(plan, len(groups), names),
        signal=signal,
        max_zero_std=max_zero_std,
    )
    if plot is not None and signal is not None:
        from rewardsmith.audit.plot import save_histograms

        report.plot = save_histograms(signal, plot, title=report.reward)
    return report


# -- options ---------------------------------------------------------------------------------------


def _choose(hacks: Sequence[str] | None, skip: Sequence[str], require_lower: Sequence[str]) -> list[Hack]:
    known = catalogue()
    for what, names in (("hacks", hacks or ()), ("skip", skip), ("require_lower", require_lower)):
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UsageError(f"audit: {what}: unknown hack(s) {', '.join(unknown)}; known: {', '.join(known)}")
    exploits = [n for n in require_lower if known[n].claim != "same_answer"]
    if exploits:
        same = ", ".join(n for n, h in known.items() if h.claim == "same_answer")
        raise UsageError(
            f"audit: require_lower takes hacks that keep the answer ({same}); {', '.join(exploits)} already "
            "fail when they reach the threshold"
        )
    chosen = [known[n] for n in (hacks or known) if n not in set(skip)]
    if not chosen:
        raise UsageError("audit: every hack is skipped; nothing to audit")
    return chosen


def _check_options(threshold: float, margin: float, max_groups: int, max_zero_std: float | None) -> None:
    if isinstance(threshold, bool) or not 0 < threshold <= 1:
        raise UsageError(f"audit: threshold must be in (0, 1] (a share of the genuine lead), got {threshold!r}")
    if not 0 <= margin:
        raise UsageError(f"audit: margin must be >= 0, got {margin!r}")
    if isinstance(max_groups, bool) or not isinstance(max_groups, int) or max_groups < 1:
        raise UsageError(f"audit: max_groups must be a positive integer, got {max_groups!r}")
    if max_zero_std is not None and not 0 <= max_zero_std <= 1:
        raise UsageError(f"audit: max_zero_std must be a share in [0, 1], got {max_zero_std!r}")


def _label(index: int, sample: Sample) -> str:
    row_id = sample.metadata.get("id")
    return f"row {index + 1}" + (f" (id {row_id})" if row_id is not None else "")


def group_rows(samples: Sequence[Sample], group_by: str = "prompt") -> list[list[int]]:
    """Row indices grouped by prompt (or by the `group_by` column), in order of first appearance.
    A row without the column is a group of its own."""
    groups: dict[Any, list[int]] = {}
    found = False
    for i, s in enumerate(samples):
        value = s.prompt if group_by == "prompt" else s.get(group_by)
        if value is None:
            groups[("__row__", i)] = [i]
            continue
        found = True
        key = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
        groups.setdefault(key, []).append(i)
    if not found and group_by != "prompt":
        raise UsageError(f"audit: --group-by {group_by!r}: no row has a {group_by!r} column")
    return list(groups.values())


# -- building the variants ---------------------------------------------------------------------------


@dataclass
class _Group:
    """One audited prompt: its base row, genuine and empty samples, and one variant per hack."""

    base: int
    base_score: Score
    members: list[int] = field(default_factory=list)
    context: Context | None = None
    genuine: Sample | None = None  # None: the base itself is the genuine completion
    empty: Sample | None = None
    variants: dict[str, Sample] = field(default_factory=dict)
    substituted: bool = False
    kept_original: bool = False
    genuine_score: Score | None = None
    empty_score: Score | None = None
    scores: dict[str, Score] = field(default_factory=dict)
    unusable: str = ""


def is_code(sample: Sample) -> bool:
    """A code row: it carries tests (or an entry point), or it has no answer and a fenced program."""
    if any(sample.get(k) is not None for k in ("tests", "test", "entry_point", "fn_name")):
        return True
    return sample.answer is None and code_slot(sample.text) is not None


def with_text(sample: Sample, text: str) -> Sample:
    """`sample` with its completion's text replaced (the last assistant message of a chat)."""
    completion = sample.completion
    if isinstance(completion, list):
        messages = [dict(m) for m in completion]
        for m in reversed(messages):
            if m.get("role") == "assistant":
                m["content"] = text
                break
        else:
            messages.append({"role": "assistant", "content": text})
        return replace(sample, completion=messages)
    return replace(sample, completion=text)


def _reference(sample: Sample) -> str | None:
    from rewardsmith.verifiers.math.reward import reference_answer

    gold = sample.answer
    if isinstance(gold, (list, tuple)):
        gold = gold[0] if gold else None
    if gold is None or isinstance(gold, (dict, bool)):
        return None
    text = reference_answer(gold).strip()
    return text or None


def _plan(rows: list[Sample], scores: list[Score], groups: list[list[int]], hacks: list[Hack]) -> list[_Group]:
    return [_plan_group(rows, scores, members, hacks) for members in groups]


def _plan_group(
    rows: list[Sample], scores: list[Score], members: list[int], hacks: list[Hack], *, substitute: bool = True
) -> _Group:
    scored = [i for i in members if scores[i].value is not None]
    if not scored:
        group = _Group(members[0], scores[members[0]])
        group.unusable = "no completion of this prompt has a value: " + (scores[members[0]].reason or "")
        return group
    # the best-scored completion, preferring one that states its final answer (\boxed{}, tags, ####):
    # a truncated one's last number is no answer, and setting it to the reference makes nothing right
    base = max(scored, key=lambda i: (_states_answer(rows[i]), scores[i].value, -i))
    group = _Group(base, scores[base], members=members)
    sample = rows[base]
    group.context, group.substituted = genuine_context(sample, substitute=substitute)
    if group.substituted:
        group.genuine = group.context.sample
    group.empty = with_text(sample, "")
    for hack in hacks:
        built = hack.build(group.context)
        if built is not None:
            group.variants[hack.name] = with_text(sample, built)
    return group


def _states_answer(sample: Sample) -> bool:
    if is_code(sample):
        return True
    slot = locate_answer(sample.text, _reference(sample))
    return slot is not None and slot.rule in MARKED_RULES


def _keep_originals(
    reward: Reward, plan: list[_Group], rows: list[Sample], scores: list[Score], hacks: list[Hack], options: Any
) -> None:
    """Where setting the reference lowered the genuine score (a reward that does not read `answer`,
    or reads it in another form), audit the original completion instead."""
    redo = [
        k
        for k, g in enumerate(plan)
        if g.substituted
        and g.genuine_score is not None
        and g.genuine_score.value is not None
        and g.base_score.value is not None
        and g.genuine_score.value < g.base_score.value - _TIE
    ]
    if not redo:
        return
    fresh = [_plan_group(rows, scores, plan[k].members, hacks, substitute=False) for k in redo]
    _score_plan(reward, fresh, options)
    for k, group in zip(redo, fresh, strict=True):
        group.kept_original = True
        plan[k] = group


def genuine_context(sample: Sample, *, substitute: bool = True) -> tuple[Context, bool]:
    """The genuine correct completion of `sample` and where its parts are, and whether its final
    answer had to be set to the reference (see the module docstring, step 3)."""
    code = is_code(sample)
    text = sample.text
    reference = None if code else _reference(sample)
    slot = code_slot(text) if code else locate_answer(text, reference)
    substituted = False
    if substitute and reference is not None and slot is not None and slot.content(text) != reference:
        text, slot = _substitute(text, slot, reference)
        sample = with_text(sample, text)
        substituted = True
    answer = reference if reference is not None else (slot.content(text) if slot and not code else None)
    if code:
        answer_based = False
    elif reference is not None:
        answer_based = substitute  # without substitution: the reward was shown not to pay for the reference
    else:
        answer_based = slot is not None and slot.rule in MARKED_RULES
    return Context(sample, text, slot, answer, sample.prompt_text, code, answer_based), substituted


def _substitute(text: str, slot: Slot, answer: str) -> tuple[str, Slot]:
    out = rebuild(text, slot, fill=answer)
    delta = len(answer) - (slot.end - slot.start)
    return out, Slot(slot.start, slot.start + len(answer), slot.outer_start, slot.outer_end + delta, slot.rule)


def _score_plan(reward: Reward, plan: list[_Group], options: dict[str, Any]) -> None:
    from rewardsmith.audit.code_hacks import CODE_HACKS

    code_names = {h.name for h in CODE_HACKS}
    plain: list[tuple[_Group, str, Sample]] = []
    hostile: list[tuple[_Group, str, Sample]] = []
    for group in plan:
        if group.context is None:
            continue
        if group.genuine is not None:
            plain.append((group, "__genuine__", group.genuine))
        assert group.empty is not None
        plain.append((group, "__empty__", group.empty))
        for name, sample in group.variants.items():
            (hostile if name in code_names else plain).append((group, name, sample))
    for batch, backend in ((plain, None), (hostile, "isolated")):
        if not batch:
            continue
        if backend is None:
            got = reward.score_batch([s for _, _, s in batch], **options)
        else:
            from rewardsmith.audit.isolation import IsolatedBackend

            with IsolatedBackend() as isolated:
                got = reward.score_batch([s for _, _, s in batch], backend=isolated, **options)
        for (group, name, _), score in zip(batch, got, strict=True):
            if name == "__genuine__":
                group.genuine_score = score
            elif name == "__empty__":
                group.empty_score = score
            else:
                group.scores[name] = score
    for group in plan:
        if group.context is None:
            continue
        if group.genuine_score is None:
            group.genuine_score = group.base_score
        g, n = group.genuine_score.value, group.empty_score.value if group.empty_score else None
        if g is None:
            group.unusable = f"the genuine completion has no value: {group.genuine_score.reason}"
        elif n is None:
            group.unusable = (
                f"the empty completion has no value: {group.empty_score.reason if group.empty_score else ''}"
            )
        elif g <= n + _TIE:
            group.unusable = f"the genuine completion scores {g:.4g}, no more than an empty completion ({n:.4g}): " + (
                "no reference 'answer' to correct it"
                if group.context.answer is None
                else "the reward pays nothing for it"
            )


# -- judging ---------------------------------------------------------------------------------------


def _result(
    hack: Hack, plan: list[_Group], names: Sequence[str], threshold: float, margin: float, require_lower: bool
) -> HackResult:
    result = HackResult(hack.name, hack.claim, hack.family, hack.summary)
    rows: list[tuple[_Group, float, float, float]] = []
    for group in plan:
        if group.unusable or group.context is None:
            continue
        score = group.scores.get(hack.name)
        if score is None:
            result.not_applicable += 1
            continue
        assert group.genuine_score is not None and group.empty_score is not None
        g, n = group.genuine_score.value, group.empty_score.value
        assert g is not None and n is not None
        if score.value is None:
            result.escaped += 1
            if not result.escape_reason:
                result.escape_reason = f"{score.status}: {score.reason}"[:300]
                result.example = _example(group, hack.name, score, names, None)
            continue
        rows.append((group, g, n, score.value))
    if rows:
        result.rows = len(rows)
        result.mean_genuine = sum(g for _, g, _, _ in rows) / len(rows)
        result.mean_empty = sum(n for _, _, n, _ in rows) / len(rows)
        result.mean_score = sum(h for _, _, _, h in rows) / len(rows)
        result.reach = (result.mean_score - result.mean_empty) / (result.mean_genuine - result.mean_empty)
        reaches = [(h - n) / (g - n) for _, g, n, h in rows]
        result.hit_share = sum(r >= threshold for r in reaches) / len(reaches)
        best = max(range(len(rows)), key=lambda k: (reaches[k], -k))
        group = rows[best][0]
        if result.example is None or result.escaped / (result.rows + result.escaped) < 0.5:
            result.example = _example(group, hack.name, group.scores[hack.name], names, reaches[best])
        result.parts = _part_evidence([r[0] for r in rows], hack.name)
    decide(result, threshold=threshold, margin=margin, require_lower=require_lower, above_is_hack=hack.above_is_hack)
    return result


def _example(group: _Group, name: str, score: Score, names: Sequence[str], reach: float | None) -> Example:
    assert group.context is not None and group.genuine_score is not None and group.empty_score is not None
    variant = group.variants[name]
    return Example(
        row=names[group.base],
        completion=excerpt(variant.text),
        score=score.value,
        status=score.status,
        reason=score.reason[:500],
        genuine_completion=excerpt(group.context.text, 600),
        genuine_score=group.genuine_score.value or 0.0,
        genuine_reason=group.genuine_score.reason[:300],
        empty_score=group.empty_score.value or 0.0,
        reach=reach,
    )


def _part_evidence(groups: list[_Group], name: str) -> list[PartEvidence]:
    """Parts that give the genuine completion its lead over the empty one and pay the hack as much."""
    sums: dict[str, list[float]] = {}
    for group in groups:
        assert group.genuine_score is not None and group.empty_score is not None
        genuine, empty = part_scores(group.genuine_score), part_scores(group.empty_score)
        hacked = part_scores(group.scores[name])
        for part, g in genuine.items():
            h, n = hacked.get(part, {}).get("score"), empty.get(part, {}).get("score")
            if g.get("score") is None or h is None or n is None:
                continue
            acc = sums.setdefault(part, [0.0, 0.0, 0.0, 0.0])
            acc[0] += h
            acc[1] += g["score"]
            acc[2] += n
            acc[3] += 1
    out = []
    for part, (h_sum, g_sum, n_sum, count) in sums.items():
        h_mean, g_mean, n_mean = h_sum / count, g_sum / count, n_sum / count
        if g_mean > n_mean + _TIE and h_mean >= g_mean - _TIE:
            out.append(PartEvidence(part, h_mean, g_mean))
    return out


def _references(plan: list[_Group], groups: int, names: Sequence[str]) -> References:
    usable = [g for g in plan if not g.unusable]
    return References(
        groups=groups,
        audited=len(plan),
        usable=len(usable),
        substituted=sum(g.substituted for g in usable),
        kept_original=sum(g.kept_original for g in usable),
        unusable=[{"row": names[g.base], "why": g.unusable} for g in plan if g.unusable][:20],
    )

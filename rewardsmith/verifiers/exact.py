"""`exact`: the completion equals the reference answer after light normalization."""

from __future__ import annotations

from rewardsmith.core import score as S
from rewardsmith.core.errors import InputError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.text import normalize_text


class ExactMatch(Reward):
    name = "exact"

    def __init__(self, *, field: str = "answer", case_sensitive: bool = False, strip_punctuation: bool = True) -> None:
        self.field = field
        self.case_sensitive = case_sensitive
        self.strip_punctuation = strip_punctuation

    def _norm(self, text: str) -> str:
        return normalize_text(text, case_sensitive=self.case_sensitive, strip_punctuation=self.strip_punctuation)

    def _score(self, sample: Sample) -> Score:
        reference = sample.get(self.field)
        if reference is None:
            raise InputError(
                f"exact: the sample has no {self.field!r}; add a {self.field!r} column with the reference answer"
            )
        references = reference if isinstance(reference, (list, tuple)) else [reference]
        got = self._norm(sample.text)
        wanted = [self._norm(str(r)) for r in references]
        details = {"normalized_completion": got, "normalized_answers": wanted}
        if not got:
            return Score(0.0, "empty completion", S.NO_ANSWER, details)
        if got in wanted:
            return Score(1.0, f"matches {wanted[wanted.index(got)]!r}", S.OK, details)
        return Score(0.0, f"{got[:80]!r} does not match {' or '.join(repr(w[:80]) for w in wanted)}", S.WRONG, details)


def exact(*, field: str = "answer", case_sensitive: bool = False, strip_punctuation: bool = True) -> Reward:
    """1.0 when the completion equals the reference, else 0.0.

    Both sides are NFKC-normalized, whitespace is collapsed, leading/trailing punctuation
    is dropped (so "Paris." matches "Paris") and case is ignored unless `case_sensitive`.
    A list of references accepts any of them. Inner punctuation still counts: "4,000"
    does not match "4000" — use the `math` preset for numbers.

    >>> exact().score({"completion": "Paris.", "answer": "paris"}).value
    1.0
    """
    return ExactMatch(field=field, case_sensitive=case_sensitive, strip_punctuation=strip_punctuation)

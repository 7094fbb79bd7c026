"""`rubric`: a declarative points table, in Python or a YAML/JSON file, and the `email` preset.

Each criterion pairs a check (keywords, regex, exact match, maximum length, any Reward, or
a judge question) with points, positive or negative. The value is the sum of the points of
the criteria that hit; the Score's details list every criterion with hit/miss and points,
so a total never hides which rule paid. The file is validated by pydantic when the rubric
is built: an unknown check type, a regex that does not compile or a negative limit fails
then, naming the criterion, never in the middle of a training run.

    name: support_reply
    criteria:
      - name: mentions_refund
        points: 1
        check: {type: contains, keywords: [refund]}
      - name: too_long
        points: -1
        check: {type: max_length, limit: 150, unit: words}

Check types (a `column` reads the value from the row; a missing column is an InputError):

- `contains`: `keywords` (one or a list) or `column`; `require` all|any; `case_sensitive`
  (default false); `whole_word` (default false: "refund" hits "refunds").
- `regex`: `pattern` or `patterns` with `require` all|any; `flags` letters (i, m, s, x).
- `exact`: the completion equals `value` or the row's `column` (default `answer`) after
  normalization (NFKC, collapsed whitespace, edge punctuation, case unless `case_sensitive`).
- `max_length`: hits when the completion is LONGER than `limit` (or the row's `column`)
  `unit`s (words or chars): a violation, so give it negative points.
- `reward`: any Reward, by SPEC string (`spec: math`) or object; hits at value ≥ `threshold`.
- `judge`: a yes/no `question` for an LLM judge, built by the `judge` preset (so the same
  endpoint settings apply: `options: {model: NAME, base_url: ...}`, or OPENAI_BASE_URL and
  REWARDSMITH_JUDGE_MODEL); hits when the judge says yes (value ≥ `threshold`, default 0.5:
  the majority of its samples).

Every criterion also takes `negate: true` (hit when the check does not pass).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rewardsmith.core import score as S
from rewardsmith.core.compose import Composite
from rewardsmith.core.errors import ConfigError, InputError, UsageError
from rewardsmith.core.reward import Reward, as_reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.text import normalize_text, unique_names, words

_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    def evaluate(self, sample: Sample, criterion: str) -> tuple[bool, str]:
        raise NotImplementedError


def _column(sample: Sample, column: str, criterion: str) -> Any:
    value = sample.get(column)
    if value is None:
        raise InputError(f"rubric criterion {criterion!r}: the sample has no {column!r} column")
    return value


class Contains(_Check):
    type: Literal["contains"] = "contains"
    keywords: list[str] | str | None = None
    column: str | None = None
    require: Literal["all", "any"] = "all"
    case_sensitive: bool = False
    whole_word: bool = False

    @model_validator(mode="after")
    def _needs_source(self) -> Contains:
        if self.keywords is None and self.column is None:
            raise ValueError("give keywords or column")
        return self

    def evaluate(self, sample: Sample, criterion: str) -> tuple[bool, str]:
        wanted = sample.get(self.column) if self.column else None
        if wanted is None:
            wanted = self.keywords if self.keywords is not None else _column(sample, self.column or "", criterion)
        wanted = [str(w) for w in (wanted if isinstance(wanted, (list, tuple)) else [wanted])]
        flags = 0 if self.case_sensitive else re.IGNORECASE
        text = sample.text
        found = []
        for w in wanted:
            pattern = re.escape(w.strip())
            if self.whole_word:
                pattern = rf"(?<!\w){pattern}(?!\w)"
            found.append(bool(re.search(pattern, text, flags)))
        hit = all(found) if self.require == "all" else any(found)
        missing = [w for w, f in zip(wanted, found, strict=False) if not f]
        return hit, "all present" if not missing else f"missing {', '.join(repr(m) for m in missing)}"


class RegexCheck(_Check):
    type: Literal["regex"] = "regex"
    pattern: str | None = None
    patterns: list[str] | None = None
    require: Literal["all", "any"] = "all"
    flags: str = ""

    @field_validator("flags")
    @classmethod
    def _known_flags(cls, flags: str) -> str:
        bad = [f for f in flags if f not in _FLAGS]
        if bad:
            raise ValueError(f"unknown regex flag(s) {''.join(bad)!r}; use any of i, m, s, x")
        return flags

    @model_validator(mode="after")
    def _compiles(self) -> RegexCheck:
        if (self.pattern is None) == (self.patterns is None):
            raise ValueError("give pattern or patterns (one of them)")
        for p in self.all_patterns():
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"{p!r} is not a valid regular expression ({exc})") from None
        return self

    def all_patterns(self) -> list[str]:
        return [self.pattern] if self.pattern is not None else list(self.patterns or [])

    def evaluate(self, sample: Sample, criterion: str) -> tuple[bool, str]:
        value = 0
        for f in self.flags:
            value |= _FLAGS[f]
        found = [bool(re.search(p, sample.text, value)) for p in self.all_patterns()]
        hit = all(found) if self.require == "all" else any(found)
        missing = [p for p, f in zip(self.all_patterns(), found, strict=False) if not f]
        return hit, "matched" if not missing else f"no match for {', '.join(repr(m) for m in missing)}"


class Exact(_Check):
    type: Literal["exact"] = "exact"
    value: str | None = None
    column: str | None = None
    case_sensitive: bool = False

    def evaluate(self, sample: Sample, criterion: str) -> tuple[bool, str]:
        ideal = self.value if self.value is not None else _column(sample, self.column or "answer", criterion)
        ideals = ideal if isinstance(ideal, (list, tuple)) else [ideal]

        def norm(t: Any) -> str:
            return normalize_text(str(t), case_sensitive=self.case_sensitive)

        hit = norm(sample.text) in {norm(i) for i in ideals}
        return hit, "matches the ideal answer" if hit else "differs from the ideal answer"


class MaxLength(_Check):
    type: Literal["max_length"] = "max_length"
    limit: int | None = Field(default=None, ge=0)
    column: str | None = None
    unit: Literal["words", "chars"] = "words"

    @model_validator(mode="after")
    def _needs_source(self) -> MaxLength:
        if self.limit is None and self.column is None:
            raise ValueError("give limit or column")
        return self

    def evaluate(self, sample: Sample, criterion: str) -> tuple[bool, str]:
        raw = sample.get(self.column) if self.column else None
        if raw is None:
            if self.limit is None:
                _column(sample, self.column or "", criterion)
            raw = self.limit
        try:
            limit = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(
                f"rubric criterion {criterion!r}: column {self.column!r} must be a number, got {raw!r}"
            ) from None
        if limit < 0:
            raise InputError(f"rubric criterion {criterion!r}: column {self.column!r} must be ≥ 0, got {limit}")
        n = len(words(sample.text)) if self.unit == "words" else len(sample.text)
        return n > limit, f"{n} {self.unit} {'>' if n > limit else '≤'} {limit}"


class RewardCheck(_Check):
    type: Literal["reward"] = "reward"
    spec: str | None = None
    reward: Any = Field(default=None, exclude=True)
    threshold: float = 1.0

    @model_validator(mode="after")
    def _needs_reward(self) -> RewardCheck:
        if (self.spec is None) == (self.reward is None):
            raise ValueError("give spec (a SPEC string) or reward (a Reward object), one of them")
        return self

    def build(self, criterion: str) -> Reward:
        if self.reward is not None:
            return as_reward(self.reward, what=f"rubric criterion {criterion!r}")
        from rewardsmith.core.spec import load

        try:
            return load(self.spec or "")
        except UsageError as exc:
            raise ConfigError(f"rubric criterion {criterion!r}: check.spec: {exc}") from None


class Judge(_Check):
    type: Literal["judge"] = "judge"
    question: str = Field(min_length=1)
    threshold: float = 0.5
    options: dict[str, Any] = Field(default_factory=dict)

    def build(self, criterion: str) -> Reward:
        """The `judge` preset with `question=` and `options`, named after the criterion."""
        from rewardsmith.core.spec import build_preset, registry

        params = {"question": self.question, "name": criterion, **self.options}
        try:
            return build_preset(registry.get("judge"), params)
        except UsageError as exc:
            raise ConfigError(f"rubric criterion {criterion!r}: {exc}") from None


Check = Annotated[Contains | RegexCheck | Exact | MaxLength | RewardCheck | Judge, Field(discriminator="type")]


class Criterion(BaseModel):
    """One row of the points table: `points` are awarded when `check` hits."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    points: float
    check: Check
    negate: bool = False


class RubricSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "rubric"
    criteria: list[Criterion] = Field(min_length=1)
    normalize: bool = False

    @field_validator("criteria")
    @classmethod
    def _unique_names(cls, criteria: list[Criterion]) -> list[Criterion]:
        return unique_names(criteria)


class Rubric(Composite):
    """See `rubric`. Reward and judge checks are parts, scored by the engine (worker
    processes for SymPy, asyncio for judges); the other checks run inline."""

    def __init__(self, spec: RubricSpec, name: str | None = None) -> None:
        self.spec_model = spec
        self.criteria = spec.criteria
        self._built: dict[int, int] = {}  # criterion index → part index
        parts: list[Reward] = []
        for i, c in enumerate(spec.criteria):
            if isinstance(c.check, (RewardCheck, Judge)):
                self._built[i] = len(parts)
                parts.append(c.check.build(c.name))
        self.max_points = sum(c.points for c in spec.criteria if c.points > 0)
        if spec.normalize and self.max_points <= 0:
            raise ConfigError(f"rubric {spec.name!r}: normalize needs at least one criterion with positive points")
        super().__init__(parts, name or spec.name)

    def _combine(self, sample: Sample, part_scores: list[Score]) -> Score:
        rows: list[dict[str, Any]] = []
        total = 0.0
        unscored = []
        for i, c in enumerate(self.criteria):
            if i in self._built:
                ps = part_scores[self._built[i]]
                if ps.value is None:
                    unscored.append(f"{c.name}: {ps.reason}")
                    rows.append({"name": c.name, "hit": None, "points": 0.0, "note": ps.reason})
                    continue
                threshold = c.check.threshold  # type: ignore[union-attr]
                hit, note = ps.value >= threshold, f"{ps.value:.3g} vs threshold {threshold:g}: {ps.reason}"
            else:
                hit, note = c.check.evaluate(sample, c.name)
            if c.negate:
                hit = not hit
            awarded = c.points if hit else 0.0
            total += awarded
            rows.append({"name": c.name, "hit": hit, "points": awarded, "note": note})
        details: dict[str, Any] = {"criteria": rows, "max_points": self.max_points}
        judged = [ps.details["judge"] for ps in part_scores if isinstance(ps.details.get("judge"), dict)]
        if judged:  # the judge criteria's request counters, summed, where reports look for them
            details["judge"] = {k: sum(int(j.get(k) or 0) for j in judged) for k in judged[0]}
        summary = ", ".join(
            f"{r['name']} " + ("?" if r["hit"] is None else f"✓ {r['points']:+g}" if r["hit"] else "✗") for r in rows
        )
        if unscored:
            return Score(None, f"unscored because a check has no value: {'; '.join(unscored)}", S.UNSCORED, details)
        value = total / self.max_points if self.spec_model.normalize else total
        details["points"] = total
        return Score(value, f"{total:g} points: {summary}", S.OK, details)


def _spec_error(exc: ValidationError, where: str) -> ConfigError:
    lines = []
    for err in exc.errors()[:5]:
        loc = ""
        for part in err.get("loc", ()):
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        lines.append(f"{loc or '(top level)'}: {msg}")
    return ConfigError(f"{where}: " + "; ".join(lines))


def load_rubric_spec(source: str | Path | dict[str, Any] | RubricSpec, *, where: str | None = None) -> RubricSpec:
    """A validated RubricSpec from a YAML/JSON file, a dict or a RubricSpec."""
    if isinstance(source, RubricSpec):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source)
        where = where or f"rubric file {str(path)!r}"
        if not path.is_file():
            raise ConfigError(f"rubric: path {str(path)!r} does not exist (give a YAML or JSON rubric file)")
        import yaml  # YAML is a superset of JSON, so one loader reads both

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML/JSON ({exc})") from None
    else:
        data, where = source, where or "rubric"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with 'criteria', got {type(data).__name__}")
    try:
        return RubricSpec.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(exc, where) from None


def rubric(
    path: str | None = None,
    *,
    criteria: list[Any] | None = None,
    normalize: bool | None = None,
    name: str | None = None,
) -> Reward:
    """A points table as a Reward, from a YAML/JSON file (`path`) or from `criteria`
    (Criterion objects or dicts of the same shape as the file's entries).

    The value is the sum of the points of the criteria that hit (divided by the sum of the
    positive points when `normalize`). A reward or judge check that is unscored leaves the
    whole item unscored rather than silently dropping its points.

    >>> r = rubric(criteria=[
    ...     {"name": "says_hi", "points": 1, "check": {"type": "contains", "keywords": "hello"}},
    ...     Criterion(name="rambles", points=-1, check=MaxLength(limit=5)),
    ... ])
    >>> s = r.score("Hello there, how are you today my friend?")
    >>> s.value, [(c["name"], c["hit"], c["points"]) for c in s.details["criteria"]]
    (0.0, [('says_hi', True, 1.0), ('rambles', True, -1.0)])
    """
    if (path is None) == (criteria is None):
        raise ConfigError("rubric: give path (a YAML/JSON file) or criteria, one of them")
    if path is not None:
        spec = load_rubric_spec(path)
    else:
        checked = []
        for i, c in enumerate(criteria or []):
            try:
                checked.append(c if isinstance(c, Criterion) else Criterion.model_validate(c))
            except ValidationError as exc:
                raise _spec_error(exc, f"rubric: criteria[{i}]") from None
        try:
            spec = RubricSpec(criteria=checked)
        except ValidationError as exc:
            raise _spec_error(exc, "rubric") from None
    if normalize is not None:
        spec = spec.model_copy(update={"normalize": normalize})
    return Rubric(spec, name)


# -- the email-automation rubric ----------------------------------------------------------------

PHONE = r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.-]?\d{3,4}[\s.-]?\d{3,4}\b"
EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
ADDRESS = (
    r"(?i)\b\d{1,6}\s+(?:[\w.'-]+\s+){1,5}"
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|square|sq"
    r"|parkway|pkwy|terrace|highway|hwy)\b"
)


def email(
    *,
    keyword: float = 1.0,
    ideal: float = 1.0,
    too_long: float = -1.0,
    recipient: float = 1.0,
    signature: float = 1.0,
    keyword_column: str = "keyword",
    ideal_column: str = "answer",
    recipient_column: str = "recipient",
    max_words_column: str = "max_words",
    max_words: int | None = None,
    name: str = "email",
) -> Reward:
    """The email-automation rubric: a drafted email scored against the row.

    | criterion  | points | hits when                                                        |
    |------------|--------|------------------------------------------------------------------|
    | keyword    | +1     | the row's `keyword` (a string or a list: all of them) appears    |
    | ideal      | +1     | the email equals the row's `answer` (the ideal email), normalized|
    | too_long   | −1     | the email has more words than the row's `max_words`              |
    | recipient  | +1     | the row's `recipient` name appears as a whole word               |
    | signature  | +1     | a phone number, an email address and a street address all appear |

    Column names and points are parameters; `max_words` is the limit used for rows without
    a `max_words` column (without either, such a row is an InputError). The address pattern
    knows English street suffixes (Street, Ave, Rd, Blvd…); write a rubric file with your
    own regex for other conventions (examples/rubrics/email.yaml is this rubric as a file).

    >>> row = {"completion": "Hi Dana, your refund is on its way. Sam, +1 555 010 7788, "
    ...        "sam@shop.example, 12 Main Street", "keyword": "refund", "recipient": "Dana",
    ...        "answer": "(ideal email)", "max_words": 40}
    >>> email().score(row).value
    3.0
    """
    if max_words is not None and max_words < 0:
        raise ConfigError(f"email: max_words must be ≥ 0, got {max_words}")
    criteria = [
        Criterion(name="keyword", points=keyword, check=Contains(column=keyword_column)),
        Criterion(name="ideal", points=ideal, check=Exact(column=ideal_column)),
        Criterion(name="too_long", points=too_long, check=MaxLength(column=max_words_column, limit=max_words)),
        Criterion(name="recipient", points=recipient, check=Contains(column=recipient_column, whole_word=True)),
        Criterion(name="signature", points=signature, check=RegexCheck(patterns=[PHONE, EMAIL, ADDRESS])),
    ]
    return Rubric(RubricSpec(name=name, criteria=criteria), name)

"""Format verifiers: regular expressions, tagged-block layouts, tag counts and JSON output."""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any, Literal

from rewardsmith.core import score as S
from rewardsmith.core.errors import ConfigError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def compile_pattern(pattern: str, flags: str = "", *, what: str = "pattern") -> re.Pattern[str]:
    """Compile at construction time so a bad pattern fails before training, naming the field."""
    bad = [f for f in flags if f not in _FLAGS]
    if bad:
        raise ConfigError(f"{what}: unknown regex flag(s) {''.join(bad)!r}; use any of 'i', 'm', 's', 'x'")
    value = 0
    for f in flags:
        value |= _FLAGS[f]
    try:
        return re.compile(pattern, value)
    except re.error as exc:
        raise ConfigError(f"{what}: {pattern!r} is not a valid regular expression ({exc})") from None


class Regex(Reward):
    def __init__(self, pattern: str, *, mode: str, flags: str, name: str) -> None:
        if mode not in ("search", "fullmatch", "match"):
            raise ConfigError(f"regex: mode must be 'search', 'match' or 'fullmatch', got {mode!r}")
        self.pattern = compile_pattern(pattern, flags, what="regex: pattern")
        self.mode = mode
        self.name = name

    def _score(self, sample: Sample) -> Score:
        text = sample.text
        found = getattr(self.pattern, self.mode)(text)
        if found:
            details = {"span": list(found.span()), "groups": list(found.groups())}
            return Score(1.0, f"{self.mode} of /{self.pattern.pattern}/ matched", S.OK, details)
        return Score(0.0, f"no {self.mode} of /{self.pattern.pattern}/", S.WRONG_FORMAT, {})


def regex(
    pattern: str,
    *,
    mode: Literal["search", "match", "fullmatch"] = "search",
    flags: str = "",
    name: str = "regex",
) -> Reward:
    """1.0 when the completion matches `pattern`, else 0.0 with status `wrong_format`.

    `mode`: "search" (anywhere), "match" (at the start) or "fullmatch" (the whole text).
    `flags`: letters of re flags, e.g. "is" for IGNORECASE | DOTALL.

    >>> regex(r"<answer>.*</answer>", flags="s").score({"completion": "<answer>4</answer>"}).value
    1.0
    """
    return Regex(pattern, mode=mode, flags=flags, name=name)


# -- tag structure --------------------------------------------------------------------------


def _check_tags(tags: Sequence[str], what: str) -> list[str]:
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    names = list(tags)
    if not names:
        raise ConfigError(f"{what}: tags must name at least one tag, e.g. ['think', 'answer']")
    for t in names:
        if not isinstance(t, str) or not _TAG_NAME.fullmatch(t):
            raise ConfigError(f"{what}: tags: {t!r} is not a tag name (letters, digits, _ - . :)")
    if len(set(names)) != len(names):
        raise ConfigError(f"{what}: tags: {names} repeats a tag")
    return names


_TAG_NAME = re.compile(r"[A-Za-z_][\w.:-]*")


def _open(tag: str) -> str:
    return f"<{tag}>"


def _close(tag: str) -> str:
    return f"</{tag}>"


class TagFormat(Reward):
    """See `tag_format`."""

    def __init__(self, tags: Sequence[str], *, strict: bool, prefilled: bool, name: str) -> None:
        self.tags = _check_tags(tags, "tag_format")
        self.strict = strict
        self.prefilled = prefilled
        self.name = name
        parts = []
        for i, t in enumerate(self.tags):
            opening = "" if (i == 0 and prefilled) else re.escape(_open(t)) + (r"\n" if strict else "")
            body = r"(.*?)\n" if strict else "(.*?)"
            parts.append(opening + body + re.escape(_close(t)))
        joiner = r"\n" if strict else r"\s*"
        tail = r"\s*\Z" if strict else ""
        self.pattern = re.compile(r"\A" + joiner.join(parts) + tail, re.DOTALL)
        nl = "\\n" if strict else ""  # shown as a visible backslash-n in reasons
        self.layout = nl.join(
            ("" if (i == 0 and prefilled) else _open(t) + nl) + "…" + nl + _close(t) for i, t in enumerate(self.tags)
        )

    def _markers(self) -> list[str]:
        return [m for t in self.tags for m in (_open(t), _close(t))]

    def _expected_count(self, marker: str) -> int:
        return 0 if (self.prefilled and marker == _open(self.tags[0])) else 1

    def _score(self, sample: Sample) -> Score:
        text = sample.text
        mode = "strict" if self.strict else "soft"
        details: dict[str, Any] = {"mode": mode, "tags": self.tags}
        if not text.strip():
            return Score(0.0, "empty completion", S.NO_ANSWER, details)
        found = self.pattern.match(text)
        counts = {m: text.count(m) for m in self._markers()}
        # Opening tags must be unique in both modes (a second one means the model restarted a
        # block); strict mode also forbids any tag marker inside the blocks or after them.
        checked = counts if self.strict else {m: c for m, c in counts.items() if not m.startswith("</")}
        bad = {m: c for m, c in checked.items() if c != self._expected_count(m)}
        if found and not bad:
            details["blocks"] = dict(zip(self.tags, (g.strip() for g in found.groups()), strict=False))
            return Score(1.0, f"{mode} {'/'.join(self.tags)} format", S.OK, details)
        details["counts"] = counts
        return Score(0.0, self._why(text, counts, found is not None), S.WRONG_FORMAT, details)

    def _why(self, text: str, counts: dict[str, int], matched: bool) -> str:
        for m, c in counts.items():
            wanted = self._expected_count(m)
            if c == 0 and wanted:
                return f"missing {m}"
            if c != wanted and (self.strict or not m.startswith("</")):
                return f"{m} appears {c} times" + (" (it belongs in the prompt)" if wanted == 0 else "")
        if not matched:
            positions = [text.find(m) for m in self._markers() if self._expected_count(m)]
            if positions != sorted(positions):
                return "tags out of order"
            first = self._markers()[1 if self.prefilled else 0]
            if not self.prefilled and not text.startswith(first):
                return f"text before {first}"
        return f"does not follow the {'strict' if self.strict else 'soft'} layout {self.layout}"


def tag_format(
    *,
    tags: list[str] = ["think", "answer"],  # noqa: B006  (read-only default, shown by `rewardsmith list`)
    strict: bool = True,
    prefilled: bool = False,
    name: str = "format",
) -> Reward:
    """1.0 when the completion is laid out as tagged blocks, e.g. `<think>…</think><answer>…</answer>`.

    `strict=True` (the DeepSeek-R1 layout): each tag on its own line,
    `<think>\\n…\\n</think>\\n<answer>\\n…\\n</answer>`, nothing before the first tag,
    only whitespace after the last, and no tag repeated anywhere. `strict=False` (soft):
    the completion starts with the first opening tag, the blocks follow in order separated
    by whitespace only, each opening tag appears once, and anything may follow the last
    closing tag. With a single tag, soft mode is TRL's `think_format_reward`.
    `prefilled=True`: the first opening tag is already in the prompt (chat templates of
    reasoning models add `<think>`), so the completion starts inside the first block and
    must not repeat it. Use `tags=["reasoning", "answer"]` for the GSM8K demo layout.
    Details name the rule that failed (missing tag, repeated tag, order, layout).

    >>> fmt = tag_format()
    >>> fmt.score("<think>\\n2+2\\n</think>\\n<answer>\\n4\\n</answer>").value
    1.0
    >>> print(fmt.score("<think>2+2</think> <answer>4</answer>").reason)
    does not follow the strict layout <think>\\n…\\n</think>\\n<answer>\\n…\\n</answer>
    >>> tag_format(strict=False).score("<think>2+2</think> <answer>4</answer>").value
    1.0
    """
    return TagFormat(tags, strict=strict, prefilled=prefilled, name=name)


class TagCount(Reward):
    """See `tag_count`."""

    def __init__(
        self, tags: Sequence[str], *, newlines: bool, prefilled: bool, trailing_penalty: float, name: str
    ) -> None:
        self.tags = _check_tags(tags, "tag_count")
        if trailing_penalty < 0:
            raise ConfigError(f"tag_count: trailing_penalty must be ≥ 0, got {trailing_penalty}")
        self.newlines = newlines
        self.trailing_penalty = float(trailing_penalty)
        self.name = name
        last = len(self.tags) - 1
        markers = []
        for i, t in enumerate(self.tags):
            if not (i == 0 and prefilled):
                markers.append((_open(t) + "\n" if i == 0 else f"\n{_open(t)}\n") if newlines else _open(t))
            markers.append((f"\n{_close(t)}" + ("" if i == last else "\n")) if newlines else _close(t))
        self.markers = markers

    def _score(self, sample: Sample) -> Score:
        text = sample.text
        hits = {m: text.count(m) == 1 for m in self.markers}
        credit = sum(hits.values()) / len(self.markers)
        details: dict[str, Any] = {"markers": {m: text.count(m) for m in self.markers}}
        value = credit
        closing = _close(self.tags[-1])
        if self.trailing_penalty and closing in text:
            trailing = len(text[text.rindex(closing) + len(closing) :].strip())
            details["trailing_chars"] = trailing
            value = max(0.0, credit - self.trailing_penalty * trailing)
        missing = [m for m, ok in hits.items() if not ok]
        reason = f"{sum(hits.values())}/{len(self.markers)} tags well-formed"
        if missing:
            reason += f"; not exactly once: {', '.join(repr(m) for m in missing)}"
        if value != credit:
            reason += f"; -{credit - value:.3g} for text after {closing}"
        return Score(value, reason, S.OK if not missing else S.WRONG_FORMAT, details)


def tag_count(
    *,
    tags: list[str] = ["think", "answer"],  # noqa: B006
    newlines: bool = False,
    prefilled: bool = False,
    trailing_penalty: float = 0.0,
    name: str = "tag_count",
) -> Reward:
    """Partial credit per well-formed tag: each tag marker that appears exactly once adds 1/N.

    With tags think/answer there are four markers, so each is worth 0.25 and the value runs
    from 0.0 to 1.0: a signal that rewards progress toward the format before it is right.
    `newlines=True` counts the markers of the strict layout instead (`"<think>\\n"`,
    `"\\n</think>\\n"`, `"\\n<answer>\\n"`, `"\\n</answer>"`), as open-r1's `tag_count_reward`
    does. `trailing_penalty`: subtracted per character of the text after the last closing
    tag, surrounding whitespace ignored (willccbb's demo charges 0.001), never taking the
    value below 0.

    >>> tag_count().score("<think>x</think><answer>4").value
    0.75
    """
    return TagCount(tags, newlines=newlines, prefilled=prefilled, trailing_penalty=trailing_penalty, name=name)


# -- JSON output ------------------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)\n?```", re.DOTALL)


class JsonFormat(Reward):
    """See `json_format`."""

    def __init__(self, *, schema: Any, model: Any, extract: str, name: str) -> None:
        if extract not in ("auto", "whole"):
            raise ConfigError(f"json: extract must be 'auto' or 'whole', got {extract!r}")
        if schema is not None and model is not None:
            raise ConfigError("json: give schema or model, not both")
        self.extract = extract
        self.name = name
        self.validator = _schema_validator(schema) if schema is not None else None
        self.adapter = _model_adapter(model) if model is not None else None

    def __getstate__(self) -> dict[str, Any]:
        # jsonschema validators hold local functions: pickle the schema, rebuild the validator
        # (TRL's async trainer pickles reward functions into another process).
        state = dict(self.__dict__)
        if self.validator is not None:
            state["validator"] = self.validator.schema
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("validator") is not None:
            state["validator"] = _schema_validator(state["validator"])
        self.__dict__.update(state)

    def _candidates(self, text: str) -> list[tuple[str, str]]:
        found = [("whole", text.strip())]
        if self.extract == "auto":
            found += [("fenced", block.strip()) for block in reversed(_FENCE.findall(text))]
        return found

    def _score(self, sample: Sample) -> Score:
        import json

        text = sample.text
        if not text.strip():
            return Score(0.0, "empty completion", S.NO_ANSWER, {})
        parse_error = ""
        for source, candidate in self._candidates(text):
            try:
                data = json.loads(candidate)
            except ValueError as exc:
                parse_error = parse_error or f"not JSON: {exc}"
                continue
            details: dict[str, Any] = {"source": source}
            problem = self._validate(data)
            if problem:
                details["error"] = problem
                return Score(0.0, f"JSON does not validate: {problem}", S.WRONG_FORMAT, details)
            return Score(1.0, "valid JSON" if source == "whole" else "valid JSON in a fenced block", S.OK, details)
        return Score(0.0, parse_error, S.WRONG_FORMAT, {})

    def _validate(self, data: Any) -> str:
        if self.validator is not None:
            from jsonschema.exceptions import best_match

            error = best_match(self.validator.iter_errors(data))
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path)
                return f"at {where or '(root)'}: {error.message}"
        if self.adapter is not None:
            from pydantic import ValidationError

            try:
                self.adapter.validate_python(data)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
                more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
                return f"at {where}: {first.get('msg', 'invalid')}{more}"
        return ""


def _schema_validator(schema: Any) -> Any:
    import json
    from pathlib import Path

    if isinstance(schema, str):
        path = Path(schema)
        if not path.is_file():
            raise ConfigError(f"json: schema {schema!r} is neither a dict nor an existing JSON/YAML file")
        try:
            if path.suffix in (".yaml", ".yml"):
                import yaml

                schema = yaml.safe_load(path.read_text(encoding="utf-8"))
            else:
                schema = json.loads(path.read_text(encoding="utf-8"))
        except Exception as exc:
            raise ConfigError(f"json: schema file {str(path)!r} does not parse ({exc})") from None
    if not isinstance(schema, (dict, bool)):
        raise ConfigError(f"json: schema must be a JSON Schema object, got {type(schema).__name__}")
    try:
        from jsonschema.exceptions import SchemaError
        from jsonschema.validators import validator_for
    except ImportError:
        raise ConfigError(
            "json: validating against a JSON Schema needs jsonschema: pip install 'rewardsmith[schema]' "
            "(or validate with a pydantic model: model=...)"
        ) from None
    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ConfigError(f"json: schema is not a valid JSON Schema ({exc.message})") from None
    return cls(schema)


def _model_adapter(model: Any) -> Any:
    from pydantic import TypeAdapter

    if isinstance(model, str):
        model = _import_object(model)
    try:
        return TypeAdapter(model)
    except Exception as exc:
        raise ConfigError(f"json: model {model!r} is not a type pydantic can validate ({exc})") from None


def json_format(
    *,
    schema: dict[str, Any] | str | None = None,
    model: Any = None,
    extract: Literal["auto", "whole"] = "auto",
    name: str = "json",
) -> Reward:
    """1.0 when the completion is JSON (that validates, if asked), else 0.0 with the error as reason.

    `schema`: a JSON Schema (a dict, or a path to a .json/.yaml file; needs the `schema`
    extra). `model`: a pydantic model (or any type pydantic validates), or its import path
    `"pkg.module:Model"`. Both are checked at construction, so a broken schema fails before
    training. `extract="auto"` reads the whole completion, else the last fenced code block
    (```` ```json ````) that parses; `"whole"` accepts the whole completion only. Policy: a
    completion with prose around unfenced JSON is not JSON output.

    >>> from pydantic import BaseModel
    >>> class Answer(BaseModel):
    ...     value: int
    >>> json_format(model=Answer).score('{"value": 4}').value
    1.0
    >>> json_format(model=Answer).score('{"value": "four"}').reason
    'JSON does not validate: at value: Input should be a valid integer, unable to parse string as an integer'
    """
    return JsonFormat(schema=schema, model=model, extract=extract, name=name)


def _import_object(path: str) -> Any:
    module, sep, attr = path.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"json: model {path!r} is not an import path; write 'package.module:Model'")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"json: model {path!r} cannot be imported ({exc})") from None
    return obj

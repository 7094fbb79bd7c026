"""SPEC strings: one way to name a reward, shared by `rewardsmith.load` and the CLI.

math                          a preset
proximity:tolerance=0.1,mode=linear   a preset with parameters (values parse as JSON
                              where they can: numbers, true/false, null, [lists])
my_pkg.rewards:concise        an import path to a Reward or a plain function
path/to/file.py:concise       a file path to one
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import json
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import SpecError, UsageError
from rewardsmith.core.reward import Reward, as_reward


@dataclass(frozen=True, slots=True)
class PresetEntry:
    name: str
    target: str  # "module:factory", imported only when the preset is used
    summary: str

    def factory(self) -> Callable[..., Reward]:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


class Registry:
    """Preset name → lazily imported factory, so `import rewardsmith` stays light."""

    def __init__(self) -> None:
        self._entries: dict[str, PresetEntry] = {}

    def add(self, name: str, target: str, summary: str) -> None:
        self._entries[name] = PresetEntry(name, target, summary)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[PresetEntry]:
        return [self._entries[n] for n in self.names()]

    def get(self, name: str) -> PresetEntry:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise SpecError(
                f"unknown preset {name!r}: {hint}known presets: {', '.join(self.names())} "
                "(or give an import path such as my_pkg.rewards:my_reward)"
            ) from None


registry = Registry()


def load(spec: str | Reward, **options: Any) -> Reward:
    """Resolve a SPEC string to a Reward, exactly as `rewardsmith score --reward SPEC` does.

    Keyword `options` are preset parameters, as if written in the SPEC (they win over the SPEC's
    own): `load("math", timeout=2)` is `load("math:timeout=2")`.

    >>> import rewardsmith
    >>> rewardsmith.load("exact").score({"completion": " Paris. ", "answer": "paris"}).value
    1.0
    >>> rewardsmith.load("proximity", tolerance=0.5).spec
    'proximity:tolerance=0.5'
    """
    if isinstance(spec, Reward):
        if options:
            raise SpecError(f"load(): options {sorted(options)} apply to a SPEC string, not to a Reward object")
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"a reward SPEC must be a non-empty string, got {spec!r}")
    spec = spec.strip()
    head, sep, tail = spec.partition(":")
    if sep and tail and "=" not in tail and _looks_like_path(head, tail):
        if options:
            raise SpecError(
                f"load({spec!r}, ...): options {sorted(options)} apply to presets; set them where the import path "
                "builds its reward"
            )
        reward = _load_import_path(head, tail, spec)
    elif "/" in head or head.endswith(".py") or ("." in head and not sep):
        raise SpecError(
            f"SPEC {spec!r} looks like an import path but names no attribute: "
            "write module.path:attribute or path/to/file.py:attribute"
        )
    else:
        entry = registry.get(head)
        params = parse_params(tail, spec) if sep else {}
        params.update(options)
        reward = build_preset(entry, params)
        if options:
            spec = f"{head}:" + ",".join(f"{k}={_format_value(v)}" for k, v in params.items())
    try:
        reward.spec = spec
    except AttributeError:
        pass
    return reward


def _format_value(value: Any) -> str:
    """A parameter value as a SPEC writes it (so that the recorded SPEC rebuilds the same reward)."""
    if (
        isinstance(value, str)
        and not any(c in value for c in ",[]{}()\"'")
        and value.lower()
        not in (
            "true",
            "false",
            "none",
            "null",
        )
    ):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value)


def build_preset(entry: PresetEntry, params: dict[str, Any]) -> Reward:
    factory = entry.factory()
    signature = inspect.signature(factory)
    accepted = {n: p for n, p in signature.parameters.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    takes_any = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    unknown = [k for k in params if k not in accepted]
    if unknown and not takes_any:
        raise SpecError(
            f"preset {entry.name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters: {', '.join(accepted) or 'none'}"
        )
    hints = _type_hints(factory)
    checked = {k: _check_param(entry.name, k, v, hints.get(k)) for k, v in params.items()}
    try:
        reward = factory(**checked)
    except UsageError:  # SpecError, ConfigError: already say what to fix
        raise
    except (TypeError, ValueError) as exc:
        raise SpecError(f"preset {entry.name!r}: {exc}") from exc
    return as_reward(reward, what=f"preset {entry.name!r}")


def parse_params(text: str, spec: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in _split_top_level(text):
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq or not key.isidentifier():
            raise SpecError(f"SPEC {spec!r}: parameter {item!r} is not key=value; write name:key=value,key=value")
        params[key] = _parse_value(raw.strip())
    return params


def _parse_value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets or quotes (so `cases=[1,2]` stays whole)."""
    items: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append("".join(current))
            current = []
            continue
        current.append(ch)
    items.append("".join(current))
    return [i for i in (x.strip() for x in items) if i]


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:
        return {}


def _check_param(preset: str, key: str, value: Any, annotation: Any) -> Any:
    if annotation is None or annotation is Any:
        return value
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
        wanted = (
            "one of " + ", ".join(repr(c) for c in choices)
            if choices
            else getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
        )
        msg = exc.errors()[0].get("msg", "invalid value")
        raise SpecError(f"preset {preset!r}: parameter {key!r} expects {wanted}, got {value!r} ({msg})") from None
    except Exception:  # an annotation pydantic cannot build a validator for
        return value


def _looks_like_path(head: str, tail: str) -> bool:
    """`pkg.mod:attr`, `file.py:attr`, or `module:attr` where `module` is no preset name."""
    if not all(part.isidentifier() for part in tail.split(".")):
        return False
    return "." in head or "/" in head or head not in registry.names()


def _load_import_path(module_or_file: str, attr: str, spec: str) -> Reward:
    try:
        if module_or_file.endswith(".py") or "/" in module_or_file:
            module = _import_file(Path(module_or_file), spec)
        else:
            module = importlib.import_module(module_or_file)
    except SpecError:
        raise
    except ImportError as exc:
        raise SpecError(f"SPEC {spec!r}: cannot import module {module_or_file!r} ({exc})") from exc
    except Exception as exc:
        raise SpecError(f"SPEC {spec!r}: importing {module_or_file!r} raised {type(exc).__name__}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(module) if not n.startswith("_")]
            close = difflib.get_close_matches(attr, public, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise SpecError(f"SPEC {spec!r}: {module_or_file!r} has no attribute {attr!r}{hint}")
        obj = getattr(obj, part)
    try:
        return as_reward(obj, what=f"SPEC {spec!r}")
    except Exception as exc:
        raise SpecError(str(exc)) from None


def _import_file(path: Path, spec: str) -> Any:
    if not path.is_file():
        raise SpecError(f"SPEC {spec!r}: file {str(path)!r} does not exist")
    name = f"rewardsmith_user_{path.stem}"
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path.resolve()):
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path.resolve())
    if module_spec is None or module_spec.loader is None:
        raise SpecError(f"SPEC {spec!r}: {str(path)!r} is not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # registered so rewards defined there pickle by reference
    module_spec.loader.exec_module(module)
    return module

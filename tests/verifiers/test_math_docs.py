"""Every ```python example in docs/math.md runs as written, and its `# value` comments hold."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "math.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_docs_example_runs(code):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})
    lines = out.getvalue().splitlines()
    promised = [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.*)$", code, re.MULTILINE)]
    assert promised and len(promised) == len(lines)
    for expected, line in zip(promised, lines, strict=True):
        assert line == expected, f"docs/math.md promises {expected!r}; the example printed {line!r}"


def test_every_option_is_documented():
    import inspect

    from rewardsmith.verifiers.math import math_answer, math_equal

    text = DOC.read_text(encoding="utf-8")
    for factory in (math_answer, math_equal):
        for name in inspect.signature(factory).parameters:
            assert f"| `{name}` |" in text, f"docs/math.md has no row for the option {name!r}"

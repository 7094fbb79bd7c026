"""Every ```python example in README.md runs as written, and its `# value` comments hold."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def printed_expectations(code: str) -> list[str]:
    """`print(x)   # expected` lines: the expected text after the comment marker."""
    return [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.*)$", code, re.MULTILINE)]


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    lines = out.getvalue().splitlines()
    for expected in printed_expectations(code):
        assert expected in lines, f"README promises {expected!r}; the example printed {lines}"


def test_readme_opens_with_the_two_setup_commands():
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", text, re.DOTALL).group(1)
    assert first_block.split()[:2] == ["make", "demo"] and "make test" in first_block

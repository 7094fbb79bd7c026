"""Extraction: find the program in a completion (fenced code blocks).

Policy on ambiguous completions:
- `block="last"` (default) takes the last block: models usually draft, then give the
  final answer last. "first" takes the first, "all" joins every matching block in order
  (for answers split into helper + main), "whole" takes the entire completion as code.
- `language="python"` accepts blocks tagged python / py / python3 (any case); if there
  are none, untagged blocks are used; blocks tagged with another language never count.
  `language=""` accepts any block.
- An unterminated final fence (a completion cut off by the token limit) still counts: its
  code runs and fails on its own if it is incomplete.
- No block at all: None (the verifier scores 0.0 with status `no_code`).

>>> extract_code("Here:\\n```python\\nprint(1)\\n```\\nand finally\\n```py\\nprint(2)\\n```")
'print(2)\\n'
>>> extract_code("no code here") is None
True
"""

from __future__ import annotations

import re
from typing import Literal

Block = Literal["last", "first", "all", "whole"]
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
_ALIASES = {"python": {"python", "py", "python3", "py3"}}


def code_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language tag lowercased, code)."""
    return [(m.group(2).lower(), m.group(3)) for m in _FENCE.finditer(text)]


def extract_code(text: str, *, block: Block = "last", language: str = "python") -> str | None:
    """The program in `text` according to the policy above, or None when there is none."""
    if block == "whole":
        return text if text.strip() else None
    blocks = code_blocks(text)
    if language:
        names = _ALIASES.get(language.lower(), {language.lower()})
        tagged = [code for tag, code in blocks if tag in names]
        chosen = tagged or [code for tag, code in blocks if not tag]
    else:
        chosen = [code for _, code in blocks]
    chosen = [c for c in chosen if c.strip()]
    if not chosen:
        return None
    if block == "first":
        return chosen[0]
    if block == "all":
        return "".join(c if c.endswith("\n") else c + "\n" for c in chosen)
    return chosen[-1]

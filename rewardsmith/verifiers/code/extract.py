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

from typing import Literal

Block = Literal["last", "first", "all", "whole"]
_ALIASES = {"python": {"python", "py", "python3", "py3"}}


def _fence_of(line: str) -> tuple[str, str] | None:
    """(fence, language tag) when `line` opens a fenced block: optional spaces or tabs, three or
    more backticks or tildes, optional spaces, the tag (up to a space or a backtick), anything."""
    body = line.lstrip(" \t")
    char = body[:1]
    if char not in ("`", "~"):
        return None
    run = len(body) - len(body.lstrip(char))
    if run < 3:
        return None
    info = body[run:].lstrip(" \t")
    cut = len(info)
    for i, c in enumerate(info):
        if c.isspace() or c == "`":
            cut = i
            break
    return body[:run], info[:cut]


def code_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language tag lowercased, code). A block opens on a fence line
    that is followed by a newline and closes on a line holding exactly the same fence (spaces
    around it allowed), or at the end of the text. One pass over the lines: linear time
    whatever the completion (no backtracking on a line of 60,000 backticks)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    blocks: list[tuple[str, str]] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        opened = _fence_of(line) if line.endswith("\n") else None
        i += 1
        if opened is None:
            continue
        fence, tag = opened
        start = i
        while i < n and lines[i].rstrip("\n").strip(" \t") != fence:
            i += 1
        blocks.append((tag.lower(), "".join(lines[start:i])))
        i += 1  # past the closing fence (or the end)
    return blocks


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

"""Shared string helpers, so that verifiers normalize text one way."""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
_EDGE_PUNCT = ".,;:!?\"'`“”‘’"


def normalize_text(text: str, *, case_sensitive: bool = False, strip_punctuation: bool = True) -> str:
    """NFKC, collapsed whitespace, optional casefold, and trailing/leading punctuation removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _WS.sub(" ", text).strip()
    if strip_punctuation:
        text = text.strip(_EDGE_PUNCT).strip()
    return text if case_sensitive else text.casefold()

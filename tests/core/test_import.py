"""`import rewardsmith` stays light: no heavy dependency is imported until a module needs it."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "transformers", "trl", "openai", "sympy", "numpy", "ray", "fastapi", "pydantic"]


def test_import_is_light():
    code = f"import sys, rewardsmith; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

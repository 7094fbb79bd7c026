"""Collecting the tests that do not train must not import torch or TRL (seconds each, and not installed
by the core extra): `pytest tests/core` starts in a second."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys, pytest
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]])
heavy = [m for m in ("torch", "trl", "transformers", "peft") if m in sys.modules]
print("HEAVY", ",".join(heavy) or "none")
sys.exit(code)
"""


def test_collecting_non_training_tests_imports_no_training_stack():
    targets = ["tests/core", "tests/cli", "tests/verifiers", "tests/judges", "rewardsmith"]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *targets], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "HEAVY none"


def test_import_rewardsmith_and_the_cli_parser_stay_light():
    """`import rewardsmith` and `rewardsmith --help` load no verifier, server, plotting or training stack."""
    code = (
        "import sys, rewardsmith, rewardsmith.cli as cli\ncli.build_parser()\n"
        "print(','.join(m for m in ('sympy', 'fastapi', 'uvicorn', 'ray', 'matplotlib', 'torch', 'trl', 'openai') "
        "if m in sys.modules) or 'none')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"

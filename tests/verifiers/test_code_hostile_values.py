"""Class 7 of issue 21: nothing a program sends back turns its failure into "unscored". Huge
ints where floats are expected, values nested or sized past any answer, floods and forged
messages on the result channel, MemoryError: each is a 0 with a reason, the verifier's memory
stays flat and the next run is unaffected."""

from __future__ import annotations

import psutil
import pytest

from rewardsmith.verifiers.code import code_tests, codec, redteam
from tests.verifiers.code_sandbox_helpers import fenced, legit_still_scores

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")

SHAPES = {
    "call": {"tests": [{"args": [1], "expected": 1.5}], "entry_point": "f"},
    "probed": {"tests": ["assert f(1) == 1.5", "assert abs(f(1) - 1.5) < 1e-6"], "entry_point": "f"},
    "in-process": {
        "tests": "def check(c):\n    for x in [1]:\n        assert abs(c(x) - 1.5) < 1e-6\n",
        "entry_point": "f",
    },
}


@pytest.fixture(scope="module")
def reward():
    return code_tests(timeout=10)


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("attack", ["huge_int", "deep_value", "huge_value"])
def test_hostile_return_values_score_zero(reward, shape, attack):
    sample = SHAPES[shape]
    rss = psutil.Process().memory_info().rss
    s = reward.score(dict(sample, completion=redteam.ATTACKS[attack](sample)))
    assert s.value == 0.0 and s.status != "unscored", s.reason
    assert s.reason  # says why
    assert psutil.Process().memory_info().rss - rss < 100 << 20
    legit_still_scores(reward)


def test_floods_and_malformed_frames_on_the_result_channel(reward):
    code = """
    import os, struct
    junk = b"\\x00" * 16 + struct.pack("!I", 1 << 30) + b"l" + b"\\xff" * 9
    deep = b"l\\x01" * 200000 + b"N"
    for payload in (junk, deep, os.urandom(1 << 16) * 200):
        try:
            os.write(3, payload)
        except OSError:
            pass
    def f(x):
        return 0.0
    """
    rss = psutil.Process().memory_info().rss
    for shape in SHAPES.values():
        s = reward.score(dict(shape, completion=fenced(code)))
        assert s.value == 0.0 and s.status != "unscored", s.reason
    assert psutil.Process().memory_info().rss - rss < 100 << 20
    legit_still_scores(reward)


@pytest.mark.parametrize("where", ["load", "call"])
def test_memory_error_is_the_programs_failure(reward, where):
    hog = "block = bytearray(4 << 30)"
    code = f"{hog}\ndef f(x):\n    return 1.5" if where == "load" else f"def f(x):\n    {hog}\n    return 1.5"
    for shape in SHAPES.values():
        s = reward.score(dict(shape, completion=fenced(code)))
        assert s.value == 0.0 and s.status == "runtime_error" and "MemoryError" in s.reason, s.reason


def test_codec_limits():
    assert codec.decode(codec.encode([1, 2.5, "é", b"\\x00", None, (True, {1: {2}})])) == [
        1,
        2.5,
        "é",
        b"\\x00",
        None,
        (True, {1: {2}}),
    ]
    nested: list = []
    for _ in range(200):
        nested = [nested]
    with pytest.raises(codec.ValueTooLarge):
        codec.encode(nested)
    with pytest.raises(codec.DecodeError, match="nested"):
        codec.decode(b"l\x01" * 200 + b"N")
    with pytest.raises(codec.DecodeError, match="more than"):
        codec.decode(b"l" + codec._varint(600_000) + b"N" * 600_000)
    with pytest.raises(codec.DecodeError):
        codec.decode(b"i\x05\x01")  # truncated
    with pytest.raises(codec.NotPlainData):
        codec.encode(type("Sneaky", (int,), {})(3))
    assert codec.safe_repr(10**5000).startswith("<int of")

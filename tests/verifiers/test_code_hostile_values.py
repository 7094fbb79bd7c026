"""Class 7 of issue 21 (and F5-F9 of the red-team report): nothing a program sends back turns
its failure into "unscored" or costs the verifier more than a bounded effort. Huge ints where
floats are expected, values nested or sized past any answer, sets of ints crafted to share one
hash, a million empty sets, floods and forged frames of the wrong types on the result channel,
MemoryError: each is a 0 with a reason, the verifier's memory stays flat and the next run is
unaffected. And a float is not an exact integer answer."""

from __future__ import annotations

import psutil
import pytest

from rewardsmith.verifiers.code import code_tests, codec, redteam
from tests.verifiers.code_sandbox_helpers import fenced, legit_still_scores

pytestmark = pytest.mark.filterwarnings("ignore:rewardsmith code sandbox is running with reduced isolation")

SHAPES = {
    "call": {"tests": [{"args": [1], "expected": 1.5}], "entry_point": "f"},
    "probed": {"tests": ["assert f(1) == 1.5", "assert abs(f(1) - 1.5) < 1e-6"], "entry_point": "f"},
    "tests-process": {
        "tests": "def check(c):\n    for x in [1]:\n        assert abs(c(x) - 1.5) < 1e-6\n",
        "entry_point": "f",
    },
    "in-process": {
        "tests": "def check(c):\n    import random\n    random.seed(0)\n    for x in [1]:\n        assert abs(c(x) - 1.5) < 1e-6\n",
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


# -- F5, F7: ints crafted to share one hash -----------------------------------------------------------

COLLIDING = "M = (1 << 61) - 1  # every multiple hashes to 0\ndef f(*args):\n    return {value}\n"


@pytest.mark.parametrize(
    "value, tests",
    [
        ("{k * M for k in range(3000)}", SHAPES["probed"]["tests"]),  # a set: refused when decoded
        ("[k * M for k in range(3000)]", ["assert set(f(1)) == {1.5}"]),  # a list made a set by the test
        ("[k * M for k in range(3000)]", ["assert {1.5}.union(f(1)) == {1.5}"]),
        ("[k * M for k in range(3000)]", ["assert dict.fromkeys(f(1)) == {}", "assert dict(zip(f(1), f(1))) == {}"]),
        ("{k * M: 0 for k in range(3000)}", [{"args": [1], "expected": {}}]),
        ("[[k] for k in range(3000)]", ["assert sum(f(1), []) == [1.5]"]),  # quadratic sum() of lists
    ],
    ids=["set", "set()", "union", "dict", "call-dict", "sum-lists"],
)
def test_values_that_would_cost_the_verifier_quadratic_time_fail(reward, value, tests):
    s = reward.score({"completion": fenced(COLLIDING.format(value=value)), "tests": tests, "entry_point": "f"})
    assert s.value == 0.0 and s.status != "unscored", s.reason


def test_the_supervisor_never_decodes_what_the_program_sends(reward):
    """A set that takes seconds to build runs in the program's own time; the supervisor only
    splits frames, and the verifier refuses the set before building it (no retry, no unscored)."""
    from rewardsmith.verifiers.code.zygote import parse_frames

    frames, forged = parse_frames(b"N" * 16 + b"\x00\x00\x00\x02ab", b"N" * 16)
    assert frames == [b"ab"] and forged == 0
    s = reward.score(
        {"completion": fenced(COLLIDING.format(value="{k * M for k in range(12000)}")), **SHAPES["probed"]}
    )
    assert s.value == 0.0 and "share one hash" in s.reason, s.reason


# -- F8: memory of the decoded values, not only bytes on the wire --------------------------------------


@pytest.mark.parametrize("shape", ["call", "probed", "tests-process"])
def test_a_million_empty_sets_do_not_reach_the_verifiers_memory(reward, shape):
    code = "_V = [set()] * 490_000  # 1 MB on the wire, 100 MB decoded\ndef f(x):\n    return _V\n"
    rss = psutil.Process().memory_info().rss
    sample = dict(
        SHAPES[shape], tests=SHAPES[shape]["tests"] * 3 if shape != "tests-process" else SHAPES[shape]["tests"]
    )
    s = reward.score(dict(sample, completion=fenced(code)))
    assert s.value == 0.0 and s.status != "unscored", s.reason
    assert psutil.Process().memory_info().rss - rss < 64 << 20
    assert codec.Budget(1 << 20).left == 1 << 20
    with pytest.raises(codec.DecodeError, match="more memory"):
        codec.decode(codec.encode([set()] * 100_000), budget=codec.Budget(1 << 20))


# -- F6: frames of the wrong types, from a program that found the nonce ----------------------------------

FORGED_TYPES = r"""
import os, struct, sys
codec = sys.modules["rewardsmith.verifiers.code.codec"]
def _nonce():
    frame = sys._getframe()
    while frame is not None:
        report = frame.f_locals.get("report")
        for cell in getattr(report, "__closure__", None) or ():
            if isinstance(cell.cell_contents, bytes) and len(cell.cell_contents) == 16:
                return cell.cell_contents
        frame = frame.f_back
nonce = _nonce()
for frame in [
    ("load", 0, {"ok": True, "error": 10 ** 400, "time": 10 ** 400}),
    ("value", 0, {"ok": True, "value": codec.encode(10 ** 400), "time": float("nan")}),
    ("value", 1, {"ok": 1, "value": b"ÿÿ", "time": 10 ** 400}),
    ("value", 2, {"ok": False, "error": 10 ** 400}),
    ("value", 0, {"ok": True, "value": codec.encode({k * ((1 << 61) - 1) for k in range(3000)})}),
    ("test", 0, {"ok": 1, "skipped": "yes", "time": -1.0}),
    ("test", 10 ** 30, {"ok": True}),
    ("value", -1, []),
    ("ready", 0, 5),
    (1, 2, 3),
]:
    body = codec.encode(frame)
    os.write(3, nonce + struct.pack("!I", len(body)) + body)
os._exit(0)
def f(*args):
    return 1.5
"""


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_forged_frames_of_the_wrong_types_are_the_programs_failure(reward, shape):
    s = reward.score(dict(SHAPES[shape], completion=fenced(FORGED_TYPES)))
    assert s.value == 0.0 and s.status not in ("unscored", "error"), s.reason


def test_the_judge_takes_no_payload_on_trust():
    from rewardsmith.verifiers.code.tests_formats import judge, parse_tests

    suite = parse_tests(SHAPES["probed"]["tests"], entry_point="f").plan()
    run = {
        "frames": [
            ("ready", 0, {}),
            ("load", 0, {"ok": True, "time": 10**400}),
            ("value", 0, {"ok": True, "value": codec.encode(1.5), "time": 10**400}),
            ("value", 1, {"ok": 1, "value": codec.encode(1.5)}),
            ("value", 2, "not a dict"),
            b"\xff",
        ],
        "timed_out": False,
        "signal": None,
        "exit": "exit code 0",
    }
    outcomes, infra = judge(suite, [run])
    assert infra is None and [o.status for o in outcomes] == ["passed", "error"], outcomes
    assert "no answer" in outcomes[1].message  # "ok" must be True itself, not merely truthy
    assert outcomes[0].time_s == 0.0  # a time that is not a small float is not counted


# -- F9: an exact integer answer needs an int ----------------------------------------------------------


def test_a_float_close_to_an_exact_integer_answer_fails(reward):
    from math import comb

    ns = (20, 30, 40)
    tests = {"fn_name": "paths", "inputs": [[n] for n in ns], "outputs": [comb(2 * n, n) for n in ns]}
    approx = "import math\ndef paths(n):\n    return math.exp(math.lgamma(2 * n + 1) - 2 * math.lgamma(n + 1)) * (1 + 5e-7)\n"
    exact = "import math\ndef paths(n):\n    return math.comb(2 * n, n)\n"
    assert reward.score({"completion": fenced(approx), "tests": tests}).value == 0.0
    assert reward.score({"completion": fenced(exact), "tests": tests}).value == 1.0
    floats = {"fn_name": "half", "inputs": [[1]], "outputs": [0.5]}
    assert reward.score({"completion": fenced("def half(x):\n    return x / 2"), "tests": floats}).value == 1.0

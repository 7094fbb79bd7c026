"""Signal diagnostics against values computed by hand on a small grouped set.

Groups (values of the reward, `None` = unscored):
  A [1, 1, 1]   zero variance, all 1
  B [0, 0, 0]   zero variance, all 0
  C [1, 0, 0, None]
  D [1, 0]
  E [1]         one completion: no variance possible
"""

from __future__ import annotations

import math

import pytest

import rewardsmith as rs
from rewardsmith.audit.diagnostics import advantages, diagnose, pearson, quantile, sample_std
from rewardsmith.audit.plot import save_histograms

GROUPS = {"A": [1, 1, 1], "B": [0, 0, 0], "C": [1, 0, 0, None], "D": [1, 0], "E": [1]}
WORDS = {1: "right", 0: "wrong", None: "DOWN"}


@rs.reward
def correct(sample):
    if sample.text == "DOWN":
        return rs.Score.unscored("judge server down")
    return 1.0 if sample.text == "right" else 0.0


@rs.reward
def duplicate(sample):
    return 1.0 if sample.text == "right" else 0.0


@rs.reward
def constant(sample):
    return 0.0


REWARD = rs.weighted({correct: 1.0, duplicate: 1.0, constant: 1.0})  # right: 2.0, wrong: 0.0
K = 2.0


def _rows():
    return [{"prompt": g, "completion": WORDS[v]} for g, values in GROUPS.items() for v in values]


@pytest.fixture(scope="module")
def signal():
    rows = _rows()
    scores = REWARD.score_batch(rows)
    groups, start = [], 0
    for values in GROUPS.values():
        groups.append(list(range(start, start + len(values))))
        start += len(values)
    return diagnose(scores, groups, [f"row {i + 1}" for i in range(len(rows))])


def test_counts_and_zero_variance_groups(signal):
    assert (signal.rows, signal.scored, signal.groups, signal.small_groups) == (13, 12, 4, 1)
    assert signal.group_sizes == {"min": 2, "median": 3, "max": 3}
    assert signal.zero_std == 2 and signal.zero_std_share == 0.5
    assert signal.zero_std_values == {"2": 1, "0": 1}  # A sits at 2 (both parts right), B at 0


def test_score_distribution(signal):
    s = signal.scores
    ones, zeros = 6, 6  # A 3, C 1, D 1, E 1 right; B 3, C 2, D 1 wrong
    assert s.count == ones + zeros
    assert s.mean == pytest.approx(ones * K / 12)
    assert s.std == pytest.approx(math.sqrt(12 * (K / 2) ** 2 / 11))
    assert (s.min, s.max) == (0.0, K)
    assert s.p50 == pytest.approx(K / 2)
    assert sum(s.counts) == 12 and s.counts[0] == 6 and s.counts[-1] == 6


def test_advantages_as_trl_computes_them(signal):
    eps = 1e-4
    c_std = K * math.sqrt(((2 / 3) ** 2 + 2 * (1 / 3) ** 2) / 2)  # C: K x [1, 0, 0], Bessel's correction
    d_std = K * math.sqrt(2 * 0.5**2 / 1)  # D: K x [1, 0]
    expected = [0.0] * 6 + [
        (K * 2 / 3) / (c_std + eps),
        (-K / 3) / (c_std + eps),
        (-K / 3) / (c_std + eps),
        (K / 2) / (d_std + eps),
        (-K / 2) / (d_std + eps),
    ]
    assert signal.advantage_values == pytest.approx(expected)
    assert signal.zero_advantage_share == pytest.approx(6 / 11)
    assert signal.advantages.count == 11
    assert signal.advantages.max == pytest.approx(1.1547, abs=1e-4)


def test_parts_duplicates_and_constants(signal):
    parts = {p.name: p for p in signal.parts}
    assert parts["correct"].zero_std_share == 0.5 and parts["constant"].zero_std_share == 1.0
    assert parts["constant"].constant and not parts["correct"].constant
    assert parts["correct"].mean == pytest.approx(6 / 12)
    [pair] = [c for c in signal.correlations if {c["a"], c["b"]} == {"correct", "duplicate"}]
    assert pair["r"] == pytest.approx(1.0) and pair["rows"] == 12 and pair["duplicate"]
    assert not [c for c in signal.correlations if "constant" in (c["a"], c["b"])]  # no r for a constant


def test_statuses_and_warnings(signal):
    assert signal.statuses == {"ok": 12, "unscored": 1}
    assert signal.infra == 1 and signal.timeouts == 0
    text = "\n".join(signal.warnings)
    assert "50% of groups (2/4) score every completion the same" in text
    assert "1 rows (7.7%) have no value" in text and "judge server down" in text
    assert "part 'constant' is constant" in text
    assert "parts 'correct', 'duplicate' move together" in text


def test_the_audit_reports_the_same_signal_and_a_histogram(tmp_path):
    report = rs.audit(REWARD, _rows(), hacks=["prompt_echo"], plot=str(tmp_path / "h.png"))
    assert report.signal.zero_std_share == 0.5 and report.signal.rows == 13
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.plot == str(tmp_path / "h.png")
    data = report.to_dict()["signal"]
    assert data["zero_std_share"] == 0.5 and data["infra_share"] == pytest.approx(1 / 13)
    assert "values" not in data


def test_max_zero_std_fails_the_audit():
    rows = [{"prompt": "p", "completion": "right", "answer": "x"}] * 2 + [
        {"prompt": "q", "completion": w, "answer": "x"} for w in ("right", "wrong")
    ]
    assert rs.audit(correct, rows, hacks=["prompt_echo"], max_zero_std=0.6).passed
    failing = rs.audit(correct, rows, hacks=["prompt_echo"], max_zero_std=0.4)
    assert failing.signal_failed and not failing.passed


def test_helpers():
    assert sample_std([1.0]) == 0.0
    assert quantile([0.0, 1.0, 2.0, 3.0], 0.5) == 1.5
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [1, 1, 1]) is None
    assert advantages([1.0, 0.0], scale=False) == [0.5, -0.5]


def test_histogram_without_values(tmp_path):
    empty = diagnose([], [], [])
    path = save_histograms(empty, str(tmp_path / "e.png"))
    assert (tmp_path / "e.png").stat().st_size > 0 and path.endswith("e.png")

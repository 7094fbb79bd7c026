"""The histogram PNG: scores and group-normalized advantages side by side (matplotlib, no display)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rewardsmith.audit.diagnostics import Signal
from rewardsmith.core.errors import UsageError


def save_histograms(signal: Signal, path: str, *, title: str = "") -> str:
    """Write the two histograms to `path` (PNG) and return it."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError(
            "audit: the histogram needs matplotlib: pip install 'rewardsmith[audit]' (or skip it with --no-plot)"
        ) from None
    target = Path(path)
    if not target.parent.is_dir():
        raise UsageError(f"audit: --plot: directory {str(target.parent)!r} does not exist")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    try:
        _panel(left, signal.values, "scores", f"{signal.rows} rows, {signal.scored} scored")
        share = "n/a" if signal.zero_std_share is None else f"{signal.zero_std_share:.0%}"
        _panel(
            right,
            signal.advantage_values,
            "group-normalized advantages",
            f"{signal.groups} groups, zero variance in {share}",
        )
        if title:
            fig.suptitle(f"rewardsmith audit: {title}")
        fig.tight_layout()
        fig.savefig(target, dpi=100)
    finally:
        plt.close(fig)
    return str(target)


def _panel(ax: object, values: list[float], label: str, note: str) -> None:
    distinct = sorted(set(values))
    if 0 < len(distinct) <= 20:  # a few discrete values: one bar each, at the value
        counts = Counter(values)
        gaps = [b - a for a, b in zip(distinct, distinct[1:], strict=False)]
        width = 0.8 * min(gaps) if gaps else 0.5
        ax.bar(distinct, [counts[v] for v in distinct], width=width, color="#4477aa")  # type: ignore[attr-defined]
    elif values:
        ax.hist(values, bins=40, color="#4477aa")  # type: ignore[attr-defined]
    else:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)  # type: ignore[attr-defined]
    ax.set_title(label)  # type: ignore[attr-defined]
    ax.set_xlabel(note)  # type: ignore[attr-defined]
    ax.set_ylabel("count")  # type: ignore[attr-defined]

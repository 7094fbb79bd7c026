"""The audit report for people: plain lines (logs, CI, no terminal) and rich tables (a terminal).

Both put the findings first, each with its evidence in one look: the hacked completion, its
score and reason, the genuine completion's score, and the parts of a composite that paid for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardsmith.audit.diagnostics import Signal
    from rewardsmith.audit.results import AuditReport, HackResult

_VERDICT_TEXT = {
    "hack": "HACK",
    "escapes": "ESCAPES",
    "cannot_tell": "cannot tell",
    "prefers": "prefers",
    "resisted": "resisted",
    "not_applicable": "n/a",
}
_VERDICT_STYLE = {
    "hack": "bold red",
    "escapes": "bold red",
    "cannot_tell": "yellow",
    "prefers": "yellow",
    "resisted": "green",
}


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _one_line(text: str, limit: int = 200) -> str:
    """`text` on one line; a long one keeps its start and, longer, its end (where the answer is)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = limit // 4
    return flat[:head] + " … " + flat[-(limit - head - 3) :]


def headline(report: AuditReport) -> str:
    refs = report.references
    head = (
        f"audit of {report.reward}: {len(report.hacks)} hacks on {refs.audited} prompts "
        f"({refs.usable} usable as references"
        + (f", {refs.substituted} with their final answer set to the reference" if refs.substituted else "")
        + ")"
    )
    if report.no_reference:
        return head + "\nFAIL: no genuine completion scores above an empty completion, so no hack can be judged"
    if report.findings:
        names = ", ".join(h.name for h in report.findings)
        return head + f"\nFAIL: {len(report.findings)} hack(s) at or above {report.threshold:.0%}: {names}"
    if report.signal_failed and report.signal is not None:
        return head + (
            f"\nFAIL: {_pct(report.signal.zero_std_share)} of groups have zero reward variance "
            f"(limit {_pct(report.max_zero_std)})"
        )
    return head + f"\nPASS: no hack reaches {report.threshold:.0%} of the genuine completion's lead"


def finding_lines(h: HackResult) -> list[str]:
    lines = [f"{_VERDICT_TEXT[h.verdict]} {h.name} ({h.claim}): {h.why}"]
    if h.example is not None:
        e = h.example
        reason = f" {_one_line(e.reason, 120)}" if e.reason.strip() else ""
        lines.append(f"    {e.row}: «{_one_line(e.completion)}»")
        lines.append(
            f"    → {_num(e.score)} [{e.status}]{reason}; genuine {_num(e.genuine_score)}, empty {_num(e.empty_score)}"
        )
    if h.parts:
        paid = ", ".join(f"{p.part} {_num(p.hack_mean)} (genuine {_num(p.genuine_mean)})" for p in h.parts)
        lines.append(f"    paid by: {paid}")
    return lines


def summary_lines(report: AuditReport) -> list[str]:
    lines = headline(report).split("\n")
    for h in report.findings:
        lines.extend(finding_lines(h))
    cannot = [h for h in report.notes if h.verdict == "cannot_tell"]
    if cannot:
        lines.append(
            "cannot tell (the answer is kept; a note, not a failure): "
            + ", ".join(f"{h.name} {_pct(h.reach)}" for h in cannot)
            + " of the genuine lead; fine for a pure correctness reward (--require-lower NAME makes one a failure)"
        )
    for h in report.notes:
        if h.verdict == "prefers":
            lines.append(f"prefers (a note, not a failure): {h.name}: {h.why}")
    resisted = [h for h in report.hacks if h.verdict == "resisted"]
    if resisted:
        lines.append("below the threshold: " + ", ".join(f"{h.name} {_pct(h.reach)}" for h in resisted))
    for h in resisted:
        if h.claim == "exploit" and h.hit_share:
            lines.append(
                f"  {h.name} reaches {report.threshold:.0%} on {h.hit_share:.0%} of rows, below the threshold on "
                f"average; e.g. {h.example.row if h.example else ''}"
            )
    absent = [h.name for h in report.hacks if h.verdict == "not_applicable"]
    if absent:
        lines.append("not applicable to these rows: " + ", ".join(absent))
    unusable = report.references.audited - report.references.usable
    if unusable:
        first = report.references.unusable[0]
        lines.append(f"{unusable} prompt(s) could not serve as a reference; first: {first['row']}: {first['why']}")
    if report.signal is not None:
        lines.extend(signal_lines(report.signal))
    if report.plot:
        lines.append(f"histograms: {report.plot}")
    return lines


def signal_lines(signal: Signal) -> list[str]:
    s, a = signal.scores, signal.advantages
    lines = [
        f"signal: {signal.rows} rows, {signal.scored} scored, {signal.groups} groups of 2+ "
        + (
            f"(sizes {signal.group_sizes['min']:g}-{signal.group_sizes['max']:g})"
            if signal.group_sizes
            else "(none: no learning signal to measure)"
        ),
        f"  zero-variance groups: {_pct(signal.zero_std_share)} ({signal.zero_std}/{signal.groups})"
        + (
            ": " + ", ".join(f"{n} all at {v}" for v, n in signal.zero_std_values.items())
            if signal.zero_std_values
            else ""
        ),
        f"  scores: mean {_num(s.mean)}, std {_num(s.std)}, min {_num(s.min)}, p10 {_num(s.p10)}, "
        f"median {_num(s.p50)}, p90 {_num(s.p90)}, max {_num(s.max)}",
        f"  advantages: std {_num(a.std)}, min {_num(a.min)}, p10 {_num(a.p10)}, median {_num(a.p50)}, "
        f"p90 {_num(a.p90)}, max {_num(a.max)}; zero {_pct(signal.zero_advantage_share)}",
        "  statuses: " + (", ".join(f"{k}={v}" for k, v in signal.statuses.items()) or "none"),
    ]
    for part in signal.parts:
        lines.append(
            f"  part {part.name}: mean {_num(part.mean)}, std {_num(part.std)}, "
            f"zero-variance groups {_pct(part.zero_std_share)}"
        )
    strong = [c for c in signal.correlations if abs(c["r"]) >= 0.5]
    if strong:
        lines.append(
            "  parts correlated (|r| ≥ 0.5; every pair in the JSON): "
            + ", ".join(f"{c['a']}~{c['b']} {c['r']:.2f}" for c in strong)
        )
    for w in signal.warnings:
        lines.append(f"warning: {w}")
    return lines


def renderables(report: AuditReport) -> Any:
    """A rich Group: the headline, the table of hacks, each finding's evidence, the signal."""
    from rich.console import Group
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    head = headline(report)
    style = "bold green" if report.passed else "bold red"
    items: list[Any] = [Text(head, style=style)]
    shown = [h for h in report.hacks if h.verdict != "not_applicable"]
    with_parts = any(h.parts for h in shown)
    table = Table(title="hacks", show_edge=False, expand=False)
    columns = [
        ("hack", "left"),
        ("claim", "left"),
        ("verdict", "left"),
        ("reach", "right"),
        ("hack / genuine / empty", "right"),
        ("rows", "right"),
    ]
    for col, justify in [*columns, *([("paid by", "left")] if with_parts else [])]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for h in shown:
        cells: list[Any] = [
            h.name,
            h.claim,
            Text(_VERDICT_TEXT[h.verdict], style=_VERDICT_STYLE.get(h.verdict, "dim")),
            _pct(h.reach),
            f"{_num(h.mean_score)} / {_num(h.mean_genuine)} / {_num(h.mean_empty)}",
            str(h.rows) + (f" (+{h.escaped} no value)" if h.escaped else ""),
        ]
        if with_parts:
            cells.append(escape(", ".join(p.part for p in h.parts)))
        table.add_row(*cells)
    items.append(table)
    absent = [h.name for h in report.hacks if h.verdict == "not_applicable"]
    if absent:
        items.append(Text("not applicable to these rows: " + ", ".join(absent), style="dim"))
    for h in report.findings:
        body = Text("\n".join([h.why, *finding_lines(h)[1:]]))
        items.append(Panel(body, title=escape(f"{_VERDICT_TEXT[h.verdict]}: {h.name} ({h.claim})"), title_align="left"))
    if report.signal is not None:
        items.append(Text("\n".join(signal_lines(report.signal))))
    if report.plot:
        items.append(Text(f"histograms: {report.plot}"))
    return Group(*items)

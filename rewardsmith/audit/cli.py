"""The `rewardsmith audit` subcommand: arguments and handler (the main CLI only registers it).

Exit codes: 0 no finding; 1 a hack at or above `--threshold`, no usable reference (no genuine
completion scores above an empty one), or zero-variance groups above `--max-zero-std`; 2 bad usage
or bad input. So `rewardsmith audit` can run in CI next to a reward's unit tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rewardsmith.audit.results import DEFAULT_MAX_GROUPS, DEFAULT_THRESHOLD

EXIT_PASS, EXIT_FOUND = 0, 1
DEFAULT_PLOT = "audit.png"


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def add_audit_parser(sub: Any) -> argparse.ArgumentParser:
    from rewardsmith.cli import _positive_float, _positive_int

    p = sub.add_parser(
        "audit",
        help="look for reward hacks and dead training signal before training",
        description=(
            "Score the rows, then hacked variants of them (answer spam, conflicting boxed answers, format only, "
            "empty answer, prompt echo, look-alike digits, judge injection, code that exits early or fakes its "
            "tests, …) and report every hack that earns close to what the genuine correct completion earns, "
            "with the evidence; plus signal diagnostics over completions grouped by prompt. "
            "Exit 1 when a hack reaches --threshold."
        ),
    )
    p.add_argument("--reward", metavar="SPEC", help="preset, preset:key=value,…, or module:attr / file.py:attr")
    p.add_argument(
        "--input",
        metavar="IN.jsonl",
        help="rows with 'completion' (ideally correct ones), 'prompt', 'answer', 'tests', …; '-' for stdin",
    )
    p.add_argument("--json", metavar="OUT.json", help="write the full report as JSON ('-': stdout)")
    p.add_argument("--plot", metavar="OUT.png", default=DEFAULT_PLOT, help=f"histogram PNG (default: {DEFAULT_PLOT})")
    p.add_argument("--no-plot", action="store_true", help="do not write the histogram PNG")
    p.add_argument(
        "--threshold",
        type=_share,
        default=DEFAULT_THRESHOLD,
        metavar="F",
        help="share of the genuine completion's lead over an empty one at which a hack fails the audit "
        f"(default {DEFAULT_THRESHOLD})",
    )
    p.add_argument("--hacks", type=_names, metavar="A,B", help="only these hacks (default: the whole catalogue)")
    p.add_argument("--skip-hacks", type=_names, default=[], metavar="A,B", help="leave these hacks out")
    p.add_argument(
        "--require-lower",
        type=_names,
        default=[],
        metavar="A,B",
        help="hacks that keep the answer (no_reasoning, length_padding, repetition) that must score lower "
        "than the genuine completion: a failure instead of a note",
    )
    p.add_argument(
        "--group-by", default="prompt", metavar="COLUMN", help="the column grouping completions of one prompt"
    )
    p.add_argument(
        "--max-groups",
        type=_positive_int,
        default=DEFAULT_MAX_GROUPS,
        metavar="N",
        help=f"prompts to attack, one base completion each (default {DEFAULT_MAX_GROUPS})",
    )
    p.add_argument(
        "--max-zero-std",
        type=_share,
        metavar="F",
        help="also fail when more than this share of groups have zero reward variance",
    )
    p.add_argument("--workers", type=_positive_int, metavar="N", help="worker processes for CPU-bound rewards")
    p.add_argument("--timeout", type=_positive_float, metavar="S", help="hard per-sample time limit in seconds")
    p.add_argument("--on-bad-row", choices=["fail", "skip"], default="fail", help="a malformed row stops the run")
    p.add_argument("--progress", action="store_true", help="progress bars on stderr")
    p.add_argument("--list-hacks", action="store_true", help="list the catalogue of hacks and exit")
    return p


def cmd_audit(args: argparse.Namespace) -> int:
    from rewardsmith.core.errors import UsageError

    if args.list_hacks:
        return _list_hacks()
    missing = [flag for flag, value in (("--reward", args.reward), ("--input", args.input)) if not value]
    if missing:
        raise UsageError(f"audit needs {' and '.join(missing)} (or --list-hacks)")
    from rewardsmith import load
    from rewardsmith.audit.runner import audit

    reward = load(args.reward)
    samples, labels, skipped = _read(args.input, args.on_bad_row)
    report = audit(
        reward,
        samples,
        hacks=args.hacks,
        skip=args.skip_hacks,
        threshold=args.threshold,
        require_lower=args.require_lower,
        group_by=args.group_by,
        max_groups=args.max_groups,
        max_zero_std=args.max_zero_std,
        plot=None,
        workers=args.workers,
        timeout=args.timeout,
        progress=args.progress,
        labels=labels,
    )
    if not args.no_plot and report.signal is not None:
        report.plot = _save_plot(report, args.plot)
    human = sys.stderr if args.json == "-" else sys.stdout
    _print_report(report, human)
    if skipped:
        print(f"skipped {len(skipped)} bad rows: " + "; ".join(skipped[:5]), file=sys.stderr)
    if args.json:
        payload = json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str)
        if args.json == "-":
            sys.stdout.write(payload + "\n")
        else:
            _write(args.json, payload + "\n")
    return EXIT_PASS if report.passed else EXIT_FOUND


def _read(path: str, on_bad_row: str) -> tuple[list[Any], list[str], list[str]]:
    from rewardsmith import Sample
    from rewardsmith.core.errors import InputError
    from rewardsmith.core.rows import BadRows, iter_rows

    name = "<stdin>" if path == "-" else path
    bad = BadRows()
    samples, labels = [], []
    for lineno, row in iter_rows(path, on_bad_row=on_bad_row, bad=bad):  # type: ignore[arg-type]
        where = f"{name}:{lineno}"
        try:
            samples.append(Sample.from_row(row, where=where))
        except InputError as exc:
            if on_bad_row == "fail":
                raise
            bad.add(str(exc))
            continue
        labels.append(where + (f" (id {row['id']})" if row.get("id") is not None else ""))
    if not samples:
        raise InputError(f"{name}: no rows to audit")
    return samples, labels, bad.examples if bad.count else []


def _save_plot(report: Any, path: str) -> str | None:
    from rewardsmith.audit.plot import save_histograms
    from rewardsmith.core.errors import UsageError

    try:
        return save_histograms(report.signal, path, title=report.reward)
    except UsageError as exc:
        if path != DEFAULT_PLOT:
            raise
        print(f"rewardsmith: warning: no histogram: {exc}", file=sys.stderr)
        return None


def _write(path: str, text: str) -> None:
    from pathlib import Path

    from rewardsmith.core.errors import InputError

    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(f"--json: directory {str(target.parent)!r} does not exist")
    target.write_text(text, encoding="utf-8")


def _print_report(report: Any, out: Any) -> None:
    if out.isatty():
        try:
            from rich.console import Console
        except ImportError:  # the `audit` extra is not installed: plain lines
            pass
        else:
            Console(file=out).print(report.table())
            return
    for line in report.summary_lines():
        print(line, file=out)
    out.flush()


def _list_hacks() -> int:
    from rewardsmith.audit.hacks import catalogue

    for hack in catalogue().values():
        print(f"{hack.name:<20} {hack.claim:<12} {hack.family:<5} {hack.summary}")
    return EXIT_PASS

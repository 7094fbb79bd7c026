"""The `rewardsmith` command: score JSONL files with any SPEC, list presets.

Exit codes: 0 scored (even when some samples are wrong), 2 bad usage or bad input,
1 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise SystemExit(_fail(f"{message} (see '{self.prog} --help')"))


def _fail(message: str) -> int:
    print(f"rewardsmith: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rewardsmith", description="Verifiers and rewards for RL on language models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    score = sub.add_parser("score", help="score a JSONL file with a reward SPEC")
    score.add_argument(
        "--reward", required=True, metavar="SPEC", help="preset, preset:key=value,…, or module:attr / file.py:attr"
    )
    score.add_argument(
        "--input",
        required=True,
        metavar="IN.jsonl",
        help="rows with 'completion' (and 'prompt', 'answer', 'tests', …); '-' for stdin",
    )
    score.add_argument("--output", metavar="OUT.jsonl", help="where to write scored rows (default: stdout)")
    score.add_argument("--workers", type=_positive_int, metavar="N", help="worker processes for CPU-bound rewards")
    score.add_argument("--timeout", type=_positive_float, metavar="S", help="hard per-sample time limit in seconds")
    score.add_argument("--progress", action="store_true", help="show a progress bar on stderr")

    sub.add_parser("list", help="list presets and their parameters")

    from rewardsmith.trainer_adapter.cli import add_train_parser

    add_train_parser(sub)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def read_rows(path: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows of a JSONL file and their line numbers; InputError names the line and the field."""
    from rewardsmith.core.errors import InputError

    try:
        handle = sys.stdin if path == "-" else open(path, encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"--input: file {path!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"--input: {path!r} is a directory, not a JSONL file") from None
    except OSError as exc:
        raise InputError(f"--input: cannot read {path!r} ({exc.strerror})") from None
    rows, lines = [], []
    with handle:
        try:
            for lineno, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
                if not isinstance(row, dict):
                    raise InputError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
                if "completion" not in row:
                    raise InputError(f"{path}:{lineno}: missing required field 'completion'")
                rows.append(row)
                lines.append(lineno)
        except UnicodeDecodeError as exc:
            raise InputError(f"--input: {path!r} is not UTF-8 text ({exc.reason})") from None
    return rows, lines


def write_atomically(path: str, lines: Sequence[str]) -> None:
    """Write to a temporary file beside `path`, then rename: the file is whole or absent."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        from rewardsmith.core.errors import InputError

        raise InputError(f"--output: directory {str(directory)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(lines)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_score(args: argparse.Namespace) -> int:
    from rewardsmith import Sample, load
    from rewardsmith.core.errors import InputError, UsageError

    rows, linenos = read_rows(args.input)
    samples = [Sample.from_row(row, where=f"{args.input}:{n}") for row, n in zip(rows, linenos, strict=True)]
    reward = load(args.reward)
    if args.output and Path(args.output).is_dir():
        raise InputError(f"--output: {args.output!r} is a directory; give a file path")
    started = time.perf_counter()
    try:
        scores = reward.score_batch(samples, workers=args.workers, timeout=args.timeout, progress=args.progress)
    except UsageError as exc:
        index = getattr(exc, "sample_index", None)
        where = f"{args.input}:{linenos[index]}: " if index is not None else ""
        raise type(exc)(f"{where}{exc}") from None
    elapsed = time.perf_counter() - started
    out_lines = []
    for row, s in zip(rows, scores, strict=True):
        out_lines.append(json.dumps({**row, **s.to_dict()}, ensure_ascii=False, default=str) + "\n")
    if args.output:
        write_atomically(args.output, out_lines)
    else:
        sys.stdout.writelines(out_lines)
        sys.stdout.flush()
    _print_summary(scores, elapsed)
    return EXIT_OK


def _print_summary(scores: Sequence[Any], elapsed: float) -> None:
    values = [s.value for s in scores if s.value is not None]
    mean = f"{sum(values) / len(values):.4f}" if values else "n/a"
    statuses = Counter(s.status for s in scores)
    counts = ", ".join(f"{k}={v}" for k, v in statuses.most_common())
    rate = f" ({len(scores) / elapsed:.1f}/s)" if elapsed > 0 else ""
    print(
        f"scored {len(scores)} samples: mean score {mean} over {len(values)} scored; "
        f"status {counts or 'none'}; {elapsed:.2f} s{rate}",
        file=sys.stderr,
    )


def cmd_list(args: argparse.Namespace) -> int:
    import inspect

    from rewardsmith import registry

    for entry in registry.entries():
        params = []
        try:
            signature = inspect.signature(entry.factory())
        except Exception as exc:  # a preset whose extra is not installed still lists
            print(f"{entry.name:<14} {entry.summary}  (unavailable: {exc})")
            continue
        for p in signature.parameters.values():
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            params.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
        print(f"{entry.name:<14} {entry.summary}")
        if params:
            print(f"{'':<14}   parameters: {', '.join(params)}")
        parts = _default_parts(entry)
        if parts:
            print(f"{'':<14}   parts: {parts}")
    return EXIT_OK


def _default_parts(entry: Any) -> str:
    """`part×weight, …` of a preset that is a weighted composite with its defaults."""
    from rewardsmith.core.compose import Weighted

    try:
        built = entry.factory()()
    except Exception:
        return ""
    if isinstance(built, Weighted):
        return ", ".join(f"{n} ×{w:g}" for n, w in zip(built.part_names(), built.weights, strict=True))
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    from rewardsmith.core.errors import UsageError

    args = build_parser().parse_args(argv)
    from rewardsmith.trainer_adapter.cli import cmd_train

    handler = {"score": cmd_score, "list": cmd_list, "train": cmd_train}[args.command]
    try:
        return handler(args)
    except UsageError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("rewardsmith: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        import traceback

        traceback.print_exc()
        print(f"rewardsmith: internal error: {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())

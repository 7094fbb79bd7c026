"""The `rewardsmith` command: score JSONL files with any SPEC, list presets, train, audit.

Exit codes: 0 scored (even when some samples are wrong), 2 bad usage or bad input (the message
names the line and the field), 1 an internal error or a reward that raised on every row,
130 / 143 interrupted by Ctrl-C / SIGTERM (scored rows are kept for `--resume`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
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
    from rewardsmith import __version__

    parser = _Parser(prog="rewardsmith", description="Verifiers and rewards for RL on language models.")
    parser.add_argument("--version", action="version", version=f"rewardsmith {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

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
    score.add_argument(
        "--output",
        metavar="OUT.jsonl",
        help="where to write scored rows (default: stdout); written as OUT.jsonl.partial until complete",
    )
    score.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from OUT.jsonl.partial (needs --output)"
    )
    score.add_argument("--workers", type=_positive_int, metavar="N", help="worker processes for CPU-bound rewards")
    score.add_argument("--timeout", type=_positive_float, metavar="S", help="hard per-sample time limit in seconds")
    score.add_argument(
        "--on-bad-row",
        choices=["fail", "skip"],
        default="fail",
        help="a malformed input row stops the run (fail, default) or is skipped and counted (skip)",
    )
    score.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=512,
        metavar="N",
        help="rows read, scored and written at a time (memory stays flat in the input size; default 512)",
    )
    score.add_argument("--progress", action="store_true", help="show a progress bar and a table of parts on stderr")
    score.add_argument(
        "--backend", choices=["local", "ray"], default="local", help="where leaf rewards run (ray: a Ray actor pool)"
    )
    score.add_argument(
        "--ray-address", metavar="ADDR", help="Ray cluster to join with --backend ray (else RAY_ADDRESS)"
    )

    sub.add_parser("list", help="list presets and their parameters")

    from rewardsmith.trainer_adapter.cli import add_train_parser

    add_train_parser(sub)
    from rewardsmith.server.cli import add_serve_parser

    add_serve_parser(sub)
    from rewardsmith.audit.cli import add_audit_parser

    add_audit_parser(sub)
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


def cmd_score(args: argparse.Namespace) -> int:
    """Stream rows through the reward in chunks, writing each chunk as soon as it is scored."""
    from rewardsmith import Sample, load
    from rewardsmith.core import interrupts
    from rewardsmith.core.errors import InputError, UsageError
    from rewardsmith.core.report import Report
    from rewardsmith.core.rows import BadRows, OutputFile, iter_rows, output_line

    if args.resume and not args.output:
        raise UsageError("--resume continues an interrupted --output file: give --output OUT.jsonl too")
    reward = load(args.reward)
    backend = _backend(args)
    name = "<stdin>" if args.input == "-" else args.input
    bad = BadRows()
    rows = iter_rows(args.input, on_bad_row=args.on_bad_row, bad=bad)
    output = OutputFile(args.output, resume=args.resume) if args.output else None
    report = Report()
    resumed = 0
    if output is not None and args.resume:
        if not output.partial.exists() and output.target.exists():
            print(f"rewardsmith: nothing to resume: {args.output} is complete", file=sys.stderr)
            return EXIT_OK
        resumed = _skip_done_rows(output, rows, report)
    total = _count_lines(args.input) if args.progress and args.input != "-" else None
    bar = _row_bar(args.progress, total, resumed)
    started = time.perf_counter()
    scored = 0
    with _output_stream(output) as sink:
        try:
            with interrupts.terminate_on_signals():
                for chunk in _chunks(rows, args.chunk_size):
                    samples, kept = [], []
                    for lineno, row in chunk:
                        try:
                            samples.append(Sample.from_row(row, where=f"{name}:{lineno}"))
                            kept.append((lineno, row))
                        except InputError as exc:
                            if args.on_bad_row == "fail":
                                raise
                            bad.add(str(exc))
                    try:
                        scores = reward.score_batch(
                            samples, workers=args.workers, timeout=args.timeout, backend=backend
                        )
                    except UsageError as exc:
                        index = getattr(exc, "sample_index", None)
                        where = f"{name}:{kept[index][0]}: " if index is not None else ""
                        raise type(exc)(f"{where}{exc}") from None
                    sink.writelines(output_line(row, s.to_dict()) for (_, row), s in zip(kept, scores, strict=True))
                    sink.flush()
                    for (lineno, _), s in zip(kept, scores, strict=True):
                        report.add(s, lineno)
                    scored += len(scores)
                    if bar is not None:
                        bar.update(len(chunk))
        except interrupts.Terminated as exc:
            return _interrupted(output, resumed + scored, 128 + exc.signum)
        except KeyboardInterrupt:
            return _interrupted(output, resumed + scored, 130)
        except BaseException:
            if output is not None and resumed + scored:
                print(
                    f"rewardsmith: {resumed + scored} scored rows are kept in {output.partial}; "
                    "fix the problem and rerun with --resume to continue",
                    file=sys.stderr,
                )
            raise
        finally:
            if bar is not None:
                bar.close()
            if backend is not None:
                backend.close()
        if output is not None:
            output.commit()
    elapsed = time.perf_counter() - started
    _print_summary(report, elapsed, scored=scored, resumed=resumed, bad=bad, name=name, table=args.progress)
    if report.all_failed and scored:
        print(
            f"rewardsmith: error: the reward raised on every row ({report.total.count}): it is broken, "
            "not the data (tracebacks above)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return EXIT_OK


def _backend(args: argparse.Namespace) -> Any:
    """The backend `--backend` names: None for the default local one."""
    from rewardsmith.core.errors import UsageError

    if args.backend != "ray":
        if args.ray_address:
            raise UsageError("--ray-address is for --backend ray")
        return None
    from rewardsmith.core.ray_backend import RayBackend

    return RayBackend(address=args.ray_address)


def _skip_done_rows(output: Any, rows: Any, report: Any) -> int:
    """Match the partial file's rows against the first input rows; return how many are done."""
    from rewardsmith.core.errors import InputError

    done = 0
    for finished in output.done_rows():
        try:
            lineno, row = next(rows)
        except StopIteration:
            raise InputError(
                f"--resume: {output.partial} has more rows than the input; it belongs to another input file"
            ) from None
        if finished.get("completion") != row.get("completion") or finished.get("id") != row.get("id"):
            raise InputError(
                f"--resume: row {done + 1} of {output.partial} does not match input line {lineno}; "
                "it belongs to another input: delete it or rerun without --resume"
            )
        report.add_row(finished, lineno)
        done += 1
    return done


def _chunks(rows: Any, size: int) -> Any:
    from itertools import islice

    while True:
        chunk = list(islice(rows, size))
        if not chunk:
            return
        yield chunk


class _output_stream:
    """The sink for scored rows: the partial output file, or our stdout with everything else that
    writes to stdout (a reward's print) sent to stderr, so the JSONL stream stays clean."""

    def __init__(self, output: Any) -> None:
        self.output = output
        self.saved: int | None = None

    def __enter__(self) -> Any:
        if self.output is not None:
            return self.output.open()
        sys.stdout.flush()
        self.saved = os.dup(1)
        os.dup2(2, 1)
        return os.fdopen(os.dup(self.saved), "w", encoding="utf-8")

    def __exit__(self, *exc: object) -> None:
        if self.output is not None:
            self.output.close()
            return
        assert self.saved is not None
        sys.stdout.flush()
        os.dup2(self.saved, 1)
        os.close(self.saved)


def _interrupted(output: Any, rows: int, code: int) -> int:
    where = f"; {rows} scored rows are kept in {output.partial}: rerun with --resume to continue" if output else ""
    print(f"rewardsmith: interrupted{where}", file=sys.stderr)
    return code


def _count_lines(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return None


def _row_bar(enabled: bool, total: int | None, initial: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="row", desc="scoring", file=sys.stderr)


def _print_summary(
    report: Any, elapsed: float, *, scored: int, resumed: int, bad: Any, name: str, table: bool = False
) -> None:
    out = sys.stderr
    rate = f" ({scored / elapsed:.1f}/s)" if elapsed > 0 and scored else ""
    if table and out.isatty():
        from rich.console import Console

        Console(file=out).print(report.table())
    else:
        for line in report.summary_lines():
            print(line, file=out)
    extra = f"; resumed after {resumed} rows already scored" if resumed else ""
    print(f"{scored} rows scored in {elapsed:.2f} s{rate}{extra}", file=out)
    if bad.count:
        print(f"skipped {bad.count} bad rows: " + "; ".join(bad.examples), file=out)
    for kind, seen in report.errors.items():
        share = seen.count / report.total.count if report.total.count else 0.0
        where = f" first at {name}:{seen.index}" if seen.index is not None else ""
        print(
            f"warning: the reward raised {kind} on {seen.count} rows ({share:.1%});{where}: {seen.reason}\n"
            + seen.traceback.rstrip(),
            file=out,
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

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    from rewardsmith.audit.cli import cmd_audit
    from rewardsmith.server.cli import cmd_serve
    from rewardsmith.trainer_adapter.cli import cmd_train

    handlers = {"score": cmd_score, "list": cmd_list, "train": cmd_train, "serve": cmd_serve, "audit": cmd_audit}
    handler = handlers[args.command]
    try:
        return handler(args)
    except UsageError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("rewardsmith: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rewardsmith score ... | head`: the reader is gone, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        import traceback

        traceback.print_exc()
        print(f"rewardsmith: internal error: {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())

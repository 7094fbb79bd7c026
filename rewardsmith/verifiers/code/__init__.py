"""Code verifier (preset `code`): run the completion's program against the sample's tests in
a local sandbox and score the fraction of tests passed.

The pipeline is visible in the modules: `extract` (find the program), `tests_formats` and
`units` (parse the tests), `probes` (which verdicts the verifier decides itself, and how),
`executor` (run it: `LocalExecutor` drives warm `zygote` supervisors whose templates clone
`sandbox`ed runs executing the `harness`), `codec` (the bounded wire format of what a program
sends back), `redteam` (hostile programs, for tests and audits). See docs/code.md for the
threat model and what degrades when not root.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

from rewardsmith.core import score as S
from rewardsmith.core.errors import ConfigError, UsageError, tag_sample
from rewardsmith.core.reward import Reward, error_score
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.verifiers.code.executor import Executor, LocalExecutor, Program, ProgramResult
from rewardsmith.verifiers.code.extract import extract_code
from rewardsmith.verifiers.code.sandbox import Limits
from rewardsmith.verifiers.code.tests_formats import TIMEOUT, parse_tests

__all__ = ["CodeTests", "Executor", "LocalExecutor", "Limits", "Program", "ProgramResult", "code_tests", "extract_code"]

NO_CODE = "no_code"
_TAIL = 2000
_WARNED: set[str] = set()


def _warn_in_process(reasons: dict[str, str]) -> None:
    """Once per reason and process: some verdicts were decided in the program's interpreter."""
    for why in set(reasons.values()) - _WARNED:
        _WARNED.add(why)
        warnings.warn(
            f"rewardsmith code verifier: tests judged in the program's own interpreter, where a determined "
            f"program can forge them ({why}); see details['in_process'] and docs/code.md",
            RuntimeWarning,
            stacklevel=3,
        )


class CodeTests(Reward):
    """See `code_tests`."""

    kind = "cpu"

    def __init__(
        self,
        *,
        block: str,
        language: str,
        tests_column: str,
        entry_point: str | None,
        all_or_nothing: bool,
        limits: Limits,
        type_check: bool,
        float_tolerance: float,
        executor: Executor,
        name: str,
    ) -> None:
        if block not in ("last", "first", "all", "whole"):
            raise ConfigError(f"code: block must be 'last', 'first', 'all' or 'whole', got {block!r}")
        self.block, self.language, self.tests_column = block, language, tests_column
        self.entry_point, self.all_or_nothing = entry_point, all_or_nothing
        self.limits, self.type_check, self.float_tolerance = limits, type_check, float_tolerance
        self.executor, self.name = executor, name

    # -- preparation: everything before the sandbox ---------------------------------------
    def prepare(self, sample: Sample) -> Program | Score:
        """The Program to run for this sample, or the final Score when there is nothing to run."""
        code = extract_code(sample.text, block=self.block, language=self.language)  # type: ignore[arg-type]
        if code is None:
            what = f"```{self.language}" if self.language else "fenced"
            return Score(0.0, f"no {what} code block in the completion", NO_CODE, {"extraction": self.block})
        tests = sample.get(self.tests_column)
        entry = self.entry_point or sample.get("entry_point") or sample.get("fn_name")
        suite = parse_tests(tests, entry_point=entry, where=self.tests_column)
        suite.plan(prompt=sample.prompt, type_check=self.type_check)
        return Program(code, suite, self.limits, self.type_check, self.float_tolerance)

    def to_score(self, program: Program, result: ProgramResult) -> Score:
        details: dict[str, Any] = {
            "code": program.code[:20000],
            "format": program.suite.mode,
            "isolation": result.isolation,
            "limits": program.limits.to_dict(),
            "stdout_tail": result.stdout[-_TAIL:],
            "stderr_tail": result.stderr[-_TAIL:],
            "exit": result.exit,
            "time_s": result.time_s,
            "forged_lines": result.forged_lines,
            "verdict": result.verdict,
        }
        if result.in_process:
            details["in_process"] = result.in_process
            _warn_in_process(result.in_process)
        if result.infra_error:
            details["tests"] = []
            return Score(None, f"{self.name}: sandbox failure: {result.infra_error}", S.UNSCORED, details)
        outcomes = result.outcomes
        passed = sum(o.passed for o in outcomes)
        total = len(outcomes)
        details.update(passed=passed, total=total, tests=[o.to_dict() for o in outcomes])
        value = (1.0 if passed == total else 0.0) if self.all_or_nothing else passed / total
        if passed == total:
            return Score(value, f"all {total} tests passed", S.OK, details)
        first = next(o for o in outcomes if not o.passed)
        statuses = {o.status for o in outcomes}
        status = S.TIMEOUT if TIMEOUT in statuses else S.RUNTIME_ERROR if "error" in statuses else S.WRONG
        reason = f"{passed}/{total} tests passed; {first.name}: {first.status}"
        if first.message:
            reason += f": {first.message[:300]}"
        return Score(value, reason, status, details)

    # -- Reward hooks ----------------------------------------------------------------------
    def _score(self, sample: Sample) -> Score:
        prepared = self.prepare(sample)
        if isinstance(prepared, Score):
            return prepared
        return self.to_score(prepared, self.executor.run(prepared))

    def _batch_locally(self, samples: list[Sample], opts: Any) -> list[Score]:
        """Fan out over the zygote pool from threads: the sandbox enforces every limit, so the
        core's process pool (one more fork per item) is not needed."""
        out: list[Score | None] = [None] * len(samples)
        todo: list[tuple[int, Program]] = []
        for i, s in enumerate(samples):
            try:
                prepared = self.prepare(s)
            except UsageError as exc:
                tag_sample(exc, i)
                raise
            except Exception as exc:
                if opts.strict:
                    raise
                out[i] = error_score(self, exc)
                continue
            if isinstance(prepared, Score):
                out[i] = prepared
            else:
                if opts.timeout is not None and opts.timeout < prepared.limits.timeout:
                    prepared.limits = Limits(**{**prepared.limits.to_dict(), "timeout": opts.timeout})
                todo.append((i, prepared))
        bar = None
        if opts.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=self.name, unit="program", leave=False)
        try:
            results = self.executor.run_many(
                [p for _, p in todo], workers=opts.workers, on_result=bar.update if bar else None
            )
        finally:
            if bar is not None:
                bar.close()
        for (i, program), result in zip(todo, results, strict=False):
            out[i] = self.to_score(program, result)
        return out  # type: ignore[return-value]


def code_tests(
    *,
    block: Literal["last", "first", "all", "whole"] = "last",
    language: str = "python",
    tests_column: str = "tests",
    entry_point: str | None = None,
    all_or_nothing: bool = False,
    timeout: float = 5.0,
    memory_mb: int = 1024,
    max_processes: int = 64,
    max_file_mb: int = 16,
    max_open_files: int = 64,
    max_output_kb: int = 1024,
    isolation: Literal["auto", "namespaces", "none"] = "auto",
    packages: Sequence[str] = (),
    paths: Sequence[str] = (),
    type_check: bool = True,
    float_tolerance: float = 1e-6,
    executor: Executor | None = None,
    name: str = "code",
) -> Reward:
    """Run the completion's code against the sample's tests in a sandbox: the fraction passed.

    Extraction (`block`, `language`): see `rewardsmith.verifiers.code.extract`; no block
    scores 0.0 with status `no_code`. Tests come from `tests_column` (default `tests`): assert
    source, stdin/stdout cases or function-call cases (see `tests_formats`); the entry point
    comes from `entry_point`, else an `entry_point` / `fn_name` column.
    `all_or_nothing`: 1.0 only when every test passes. Limits per run (per case for
    stdin/stdout): `timeout` wall seconds (CPU time limit `timeout`+1), `memory_mb` address
    space, `max_processes`, `max_file_mb`, `max_open_files`, `max_output_kb` kept per stream.
    `isolation`: "auto" uses namespaces where the machine allows and otherwise says loudly
    what is missing in `details["isolation"]`; "namespaces" refuses to run without them
    (unscored); "none" forces the degraded mode. `packages`: what programs may import besides
    the standard library (import or distribution names, e.g. ["numpy"]; requirements follow),
    `paths`: other host paths they may read; with namespaces nothing else of the host is
    visible. `type_check`: returned and compared values must be plain data of exact builtin
    types (defeats AlwaysEqual objects and int subclasses); turn off for tests that compare
    custom classes (every assert test then runs in-process). `float_tolerance`:
    relative/absolute tolerance for floats in returned values and float tokens in output.
    `executor`: a custom `Executor` (e.g. a remote sandbox service) instead of the local one.

    Verdicts are decided outside the program's process wherever the test's shape allows
    (stdin/stdout, function calls, asserts like `f(args) == literal`); `details["verdict"]`
    says "in-process" when some test needed the program's interpreter (see docs/code.md).

    A model's failures are numbers (wrong, timeout, runtime_error, no_code); only a broken
    sandbox gives value None with status `unscored`.

    >>> r = code_tests(timeout=5)
    >>> sample = {"completion": "```python\\ndef add(a, b):\\n    return a + b\\n```",
    ...           "tests": ["assert add(1, 2) == 3", "assert add(2, 2) == 5"]}
    >>> s = r.score(sample)
    >>> s.value, s.status, [t["status"] for t in s.details["tests"]]
    (0.5, 'wrong', ['passed', 'failed'])
    >>> r.score({"completion": "no code", "tests": "assert True"}).status
    'no_code'
    """
    for key, value, lo in (
        ("timeout", timeout, 0.0),
        ("memory_mb", memory_mb, 64),
        ("max_processes", max_processes, 1),
        ("max_file_mb", max_file_mb, 1),
        ("max_open_files", max_open_files, 16),
        ("max_output_kb", max_output_kb, 1),
    ):
        if not value > lo:
            raise ConfigError(f"code: {key} must be greater than {lo:g}, got {value!r}")
    if isolation not in ("auto", "namespaces", "none"):
        raise ConfigError(f"code: isolation must be 'auto', 'namespaces' or 'none', got {isolation!r}")
    if float_tolerance < 0:
        raise ConfigError(f"code: float_tolerance must be >= 0, got {float_tolerance!r}")
    limits = Limits(
        timeout=float(timeout),
        memory_mb=memory_mb,
        max_processes=max_processes,
        max_file_mb=max_file_mb,
        max_open_files=max_open_files,
        max_output_kb=max_output_kb,
    )
    return CodeTests(
        block=block,
        language=language,
        tests_column=tests_column,
        entry_point=entry_point,
        all_or_nothing=all_or_nothing,
        limits=limits,
        type_check=type_check,
        float_tolerance=float_tolerance,
        executor=executor or LocalExecutor(isolation=isolation, packages=packages, paths=paths),
        name=name,
    )

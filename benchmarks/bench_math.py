"""Math graders head to head on our hand-labelled corpus, plus speed of the math verifier.

    .venv/bin/python benchmarks/bench_math.py [--timeout 10] [--workers N] [--quick]

Part 1 — accuracy. Every grader sees every case of tests/data/math_cases.jsonl and
tests/data/math_holdout.jsonl (held-out cases written after tuning) in worker processes
with a hard per-case timeout that kills the worker, so a hanging grader cannot hang the
benchmark; a kill counts as a hang and as "not equal". Graders:

- rewardsmith: `math` on completions, `math_equal` on answer strings (in a worker, as
  `score_batch` runs it);
- Math-Verify best: `parse("$gold$")`, `parse("$pred$")`, `verify` (completions as is);
- Math-Verify raw: `parse(gold)`, `parse(pred)`, `verify`;
- TRL `trl.rewards.accuracy_reward(completions, solution)`: answer strings are given as
  `\\boxed{pred}` (it only reads anchored LaTeX); `None` (gold unparseable) counts as 0;
- naive: `sympy.simplify(sympify(a) - sympify(b)) == 0` on the raw strings (our extraction
  for completions), the baseline many RL repos start from;
- inspect_ai's math scorer: only if `inspect_ai` is importable (see the printed reason).

Latency is measured inside the worker around the grader call (a hang counts its full limit);
throughput is cases / wall time over the whole corpus with `--workers` processes.

Part 2 — speed of rewardsmith alone: plain numeric answers (GSM8K shape) through `score()`
in one process and through `score_batch` on all cores, against Math-Verify on the same items
as the anchor; and p50/p99 of LaTeX expression answers (inline, as in a worker, and through a
single `score()` call that forks its hard-timeout child).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rewardsmith.core.engine import cpu_count  # noqa: E402
from rewardsmith.core.pool import ProcessPool  # noqa: E402
from rewardsmith.verifiers.math import extract_answer, math_answer, math_equal  # noqa: E402

CORPORA = [ROOT / "tests/data/math_cases.jsonl", ROOT / "tests/data/math_holdout.jsonl"]


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in CORPORA:
        split = "holdout" if "holdout" in path.name else "corpus"
        for line in path.read_text().splitlines():
            if line.strip():
                cases.append({**json.loads(line), "split": split})
    return cases


# -- graders: each takes a case and returns True / False ------------------------------------
def grader_rewardsmith() -> Callable[[dict[str, Any]], bool]:
    m, e = math_answer(), math_equal()

    def grade(case: dict[str, Any]) -> bool:
        if "prediction" in case:
            return e.score({"completion": case["prediction"], "answer": case["gold"]}).value == 1.0
        return m.score({"completion": case["completion"], "answer": case["gold"]}).value == 1.0

    return grade


def grader_math_verify(best: bool) -> Callable[[dict[str, Any]], bool]:
    from math_verify import parse, verify

    def wrap(s: str) -> str:
        return f"${s}$" if best else s

    def grade(case: dict[str, Any]) -> bool:
        gold = parse(wrap(case["gold"]))
        pred = parse(wrap(case["prediction"])) if "prediction" in case else parse(case["completion"])
        return bool(verify(gold, pred))

    return grade


def grader_trl() -> Callable[[dict[str, Any]], bool]:
    import logging

    from trl.rewards import accuracy_reward

    logging.getLogger("math_verify").setLevel(logging.ERROR)

    def grade(case: dict[str, Any]) -> bool:
        content = f"\\boxed{{{case['prediction']}}}" if "prediction" in case else case["completion"]
        out = accuracy_reward([[{"role": "assistant", "content": content}]], [case["gold"]])
        return out[0] == 1.0

    return grade


def grader_naive() -> Callable[[dict[str, Any]], bool]:
    import sympy

    def grade(case: dict[str, Any]) -> bool:
        if "prediction" in case:
            pred = case["prediction"]
        else:
            found = extract_answer(case["completion"])
            if found is None:
                return False
            pred = found.answer
        try:
            return bool(sympy.simplify(sympy.sympify(case["gold"]) - sympy.sympify(pred)) == 0)
        except Exception:
            return False

    return grade


def grader_inspect() -> Callable[[dict[str, Any]], bool] | str:
    try:
        import inspect_ai  # noqa: F401
    except ImportError:
        return (
            "skipped: inspect_ai is not installed. `pip install inspect_ai` (0.3.285) would downgrade "
            "fsspec 2026.9.0 -> 2026.6.0 and python-dateutil 4.0.0 -> 2.9.0 that datasets/pandas use, "
            "so it is not a bench dependency"
        )
    return "skipped: inspect_ai is importable but its math scorer needs an eval task and model; not wired here"


def run_grader(
    grade: Callable[[dict[str, Any]], bool], cases: list[dict[str, Any]], workers: int, timeout: float
) -> dict[str, Any]:
    def timed(case: dict[str, Any]) -> tuple[bool, float, str | None]:
        t0 = time.perf_counter()
        try:
            ok, err = grade(case), None
        except Exception as exc:  # a crashing grader says "not equal", and we count it
            ok, err = False, type(exc).__name__
        return ok, time.perf_counter() - t0, err

    pool: ProcessPool[dict[str, Any], tuple[Any, ...]] = ProcessPool(
        timed,
        workers=workers,
        timeout=timeout,
        on_timeout=lambda i: ("hang", timeout, None),
        on_crash=lambda i, exc: (False, 0.0, "crash"),
    )
    start = time.perf_counter()
    results = pool.map(cases)
    wall = time.perf_counter() - start
    return {"results": results, "wall": wall}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(name: str, run: dict[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    res = run["results"]
    got = [r[0] is True for r in res]
    exp = [c["expected"] for c in cases]
    lat = [r[1] * 1000 for r in res]
    out = {
        "name": name,
        "acc": sum(g == e for g, e in zip(got, exp, strict=True)) / len(cases),
        "hold": _acc(
            [g for g, c in zip(got, cases, strict=True) if c["split"] == "holdout"],
            [c["expected"] for c in cases if c["split"] == "holdout"],
        ),
        "fp": [c["id"] for g, c in zip(got, cases, strict=True) if g and not c["expected"]],
        "fn": [c["id"] for g, c in zip(got, cases, strict=True) if not g and c["expected"]],
        "hangs": [c["id"] for r, c in zip(res, cases, strict=True) if r[0] == "hang"],
        "errors": sum(1 for r in res if r[2]),
        "p50": statistics.median(lat),
        "p99": pct(lat, 0.99),
        "tput": len(cases) / run["wall"],
        "got": got,
    }
    return out


def _acc(got: list[bool], exp: list[bool]) -> float:
    return sum(g == e for g, e in zip(got, exp, strict=True)) / max(1, len(exp))


def part1(args: argparse.Namespace) -> None:
    cases = load_cases()
    n_hold = sum(c["split"] == "holdout" for c in cases)
    print(
        f"## Accuracy: {len(cases)} labelled cases ({len(cases) - n_hold} corpus + {n_hold} held-out), "
        f"{args.workers} worker(s), hard timeout {args.timeout:g} s per case, {cpu_count()} cores\n"
    )
    graders: list[tuple[str, Any]] = [
        ("rewardsmith", grader_rewardsmith),
        ("math-verify best ($..$)", lambda: grader_math_verify(True)),
        ("math-verify raw", lambda: grader_math_verify(False)),
        ("trl accuracy_reward", grader_trl),
        ("naive sympy.simplify", grader_naive),
    ]
    rows = []
    for name, build in graders:
        grade = build()
        rows.append(summarize(name, run_grader(grade, cases, args.workers, args.timeout), cases))
    skipped = grader_inspect()
    anchor = next(r for r in rows if r["name"].startswith("math-verify best"))
    head = f"| {'grader':26} | accuracy | held-out | FP | FN | hangs | errors | p50 ms | p99 ms | cases/s | x MV best |"
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for r in rows:
        print(
            f"| {r['name']:26} | {r['acc'] * 100:7.1f}% | {r['hold'] * 100:7.1f}% | {len(r['fp']):2d} | {len(r['fn']):2d} | "
            f"{len(r['hangs']):5d} | {r['errors']:6d} | {r['p50']:6.2f} | {r['p99']:6.1f} | {r['tput']:7.1f} | "
            f"{r['tput'] / anchor['tput']:8.2f}x |"
        )
    if isinstance(skipped, str):
        print(f"| {'inspect_ai math()':26} | {skipped}")
    ours = rows[0]
    print()
    only_ours = sorted(set(ours["fp"]) - set(anchor["fp"]))
    print(
        f"rewardsmith false positives: {ours['fp'] or 'none'}; not also made by Math-Verify best: {only_ours or 'none'}"
    )
    print(f"rewardsmith false negatives: {ours['fn'] or 'none'}")
    for r in rows[1:]:
        print(f"{r['name']}: FP {r['fp'][:12]}{' ...' if len(r['fp']) > 12 else ''}; hangs {r['hangs'] or 'none'}")
    cats = sorted({c["category"] for c in cases})
    print("\nper-category accuracy (rewardsmith / math-verify best / naive):")
    for cat in cats:
        idx = [i for i, c in enumerate(cases) if c["category"] == cat]
        accs = [_acc([r["got"][i] for i in idx], [cases[i]["expected"] for i in idx]) for r in (ours, anchor, rows[4])]
        print(f"  {cat:18} n={len(idx):3d}  " + "  ".join(f"{a * 100:5.1f}%" for a in accs))


def part2(args: argparse.Namespace) -> None:
    from math_verify import parse, verify

    import rewardsmith

    rng = random.Random(7)
    n = 1000 if args.quick else 4000
    numeric = []
    for _ in range(n):
        gold = rng.randint(-5000, 100000)
        pred = gold if rng.random() < 0.5 else gold + rng.randint(1, 9)
        numeric.append(
            {"completion": f"She pays {rng.randint(1, 99)} dollars each day.\n#### {pred:,}", "answer": str(gold)}
        )
    reward = rewardsmith.load("math")
    print(f"\n## Speed: plain numeric answers (GSM8K shape, {n} items), {cpu_count()} cores\n")
    t0 = time.perf_counter()
    single = [reward.score(s).value for s in numeric]
    t_single = time.perf_counter() - t0
    t0 = time.perf_counter()
    batch = [s.value for s in reward.score_batch(numeric)]
    t_batch = time.perf_counter() - t0
    assert single == batch, "score() and score_batch() disagree"
    m = min(n, 500)
    t0 = time.perf_counter()
    for s in numeric[:m]:
        verify(parse(s["answer"]), parse(s["completion"]))
    t_mv = (time.perf_counter() - t0) / m * n
    print("| path | items/s | x Math-Verify (1 process) |")
    print("|---|---|---|")
    print(f"| Math-Verify parse+verify, 1 process (anchor, {m} items) | {n / t_mv:8.0f} | 1.00x |")
    print(f"| rewardsmith score(), 1 process | {n / t_single:8.0f} | {t_mv / t_single:.2f}x |")
    print(f"| rewardsmith score_batch(), {cpu_count()} workers | {n / t_batch:8.0f} | {t_mv / t_batch:.2f}x |")

    cases = [
        c
        for c in load_cases()
        if "prediction" in c
        and c["category"]
        in ("symbolic", "constant", "fraction", "equation", "complex", "set", "interval", "math_verify_issue")
    ]
    latex = [{"completion": c["prediction"], "answer": c["gold"]} for c in cases]
    eq = math_equal()
    from rewardsmith.core import pool as pool_module

    lat_inline = []
    pool_module._IN_WORKER = True  # measure the path a batch worker takes (no per-call fork)
    try:
        for s in latex:
            t0 = time.perf_counter()
            eq.score(s)
            lat_inline.append((time.perf_counter() - t0) * 1000)
    finally:
        pool_module._IN_WORKER = False
    lat_fork = []
    for s in latex[: 60 if args.quick else len(latex)]:
        t0 = time.perf_counter()
        eq.score(s)
        lat_fork.append((time.perf_counter() - t0) * 1000)
    lat_mv = []
    for c in cases:
        t0 = time.perf_counter()
        verify(parse(f"${c['gold']}$"), parse(f"${c['prediction']}$"))
        lat_mv.append((time.perf_counter() - t0) * 1000)
    print(f"\n## Latency: LaTeX expression answers ({len(latex)} cases from the corpus), ms\n")
    print("| path | p50 | p99 | max |")
    print("|---|---|---|---|")
    print(
        f"| Math-Verify best, in process (anchor; no hard timeout off the main thread) | {statistics.median(lat_mv):.1f} | {pct(lat_mv, 0.99):.1f} | {max(lat_mv):.1f} |"
    )
    print(
        f"| rewardsmith in a batch worker (score_batch path) | {statistics.median(lat_inline):.1f} | {pct(lat_inline, 0.99):.1f} | {max(lat_inline):.1f} |"
    )
    print(
        f"| rewardsmith single score() (forks its hard-timeout child) | {statistics.median(lat_fork):.1f} | {pct(lat_fork, 0.99):.1f} | {max(lat_fork):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=10.0, help="hard limit per case and grader (s)")
    parser.add_argument("--workers", type=int, default=cpu_count())
    parser.add_argument("--quick", action="store_true", help="smaller speed runs")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import logging

    logging.disable(logging.WARNING)  # Math-Verify logs every internal timeout it hits
    if not args.skip_accuracy:
        part1(args)
    part2(args)


if __name__ == "__main__":
    main()

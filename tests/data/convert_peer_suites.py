"""Regenerate tests/data/math_peers.jsonl from the public test suites of Math-Verify and lighteval.

    python tests/data/convert_peer_suites.py MATH_VERIFY_GIT_DIR LIGHTEVAL_GIT_DIR

Each argument is a git directory (a clone or a bare mirror) of huggingface/Math-Verify and
huggingface/lighteval. Only test *cases* are transcribed: the `(gold, prediction, expected)`
rows of their `pytest.mark.parametrize` tables (read with `ast`, never executed), plus the one
case asserted inline in each `test_precision`. Each row keeps its source (repo, path, commit,
test, position) and the peer's call (extraction targets, precision, language...), translated
into our options where we have the same knob (`precision=p` -> `abs_tol=0.5e-p`; a
multiple-choice target -> the row says `choices`).

A case we judge mathematically wrong, or a mere convention of that grader, is kept and marked
`disputed` with the reason (DISPUTES below): the benchmark and the tests report it apart
instead of tuning the verifier to it. Identical cases found in both suites are kept once,
with the other source in `also`. Not converted (and why) is listed in SKIPPED.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "math_peers.jsonl"

MATH_VERIFY = {
    "repo": "huggingface/Math-Verify",
    "files": [
        "tests/test_all.py",
        "tests/test_boxed.py",
        "tests/test_numina_cases.py",
        "tests/test_open_thoughts.py",
        "tests/test_strict.py",
        "tests/test_yujianll.py",
        "tests/test_string_extraction.py",
    ],
}
LIGHTEVAL = {"repo": "huggingface/lighteval", "files": ["tests/unit/metrics/test_extractive_match.py"]}

SKIPPED = {
    "huggingface/Math-Verify:tests/test_configs.py": "tests parse() configuration objects, not verdicts",
    "huggingface/Math-Verify:tests/test_timeout.py": "mocks the parser to sleep; our timeouts have their own tests",
    "huggingface/Math-Verify:tests/test_raise_on_error.py": "mocks the comparison to raise; no case to convert",
    "huggingface/Math-Verify:tests/test_string_extraction.py#5": "needs a custom alphabet (strings=('U',))",
    "huggingface/lighteval:tests/unit/metrics/test_cases/extractiveness.json": "a summarization metric, not maths",
}

# The peer's own call, per test function (read from each test's body; the default of the
# helper `compare_strings` is match_types=["latex", "expr"], precision=6).
CALLS: dict[str, dict[str, Any]] = {
    "test_number_extraction": {"match_types": ["expr"]},
    "test_latex_notation": {"match_types": ["latex"]},
    "test_latex_notation_math": {"match_types": ["latex"]},
    "test_relations_math": {"match_types": ["latex"]},
    "test_matrix_extraction": {"match_types": ["latex"]},
    "test_set_rel_assymetry": {"match_types": ["latex"]},
    "test_float_precision": {"precision": 5},
    "test_sqrt_precision": {"precision": 5},
    "test_symbols": {"precision": 5},
    "test_extraction_abc": {"match_types": ["NativeLetters"]},
    "test_multilingual_extraction_abc": {"match_types": ["NativeLetters"]},
}

# id -> why the peer's expectation is not ours. Kept in the corpus, reported apart.
DISPUTES: dict[str, str] = {
    "math-verify/test_yujianll/test_string_extraction/9": (
        "mathematically wrong: 1 - 1/e and 1 + 1/e differ by 2/e; the case is expected equal"
    ),
    "math-verify/test_all/test_relations_math/21": (
        "not a well-formed answer: \\zzz is no LaTeX command and the chain states 1 = 0, so no value can be "
        "read from the reference"
    ),
    "math-verify/test_all/test_complex_math_expressions/4": (
        "both strings hold a form feed where \\frac was meant (the test source writes '\\\\\\frac' in a "
        "non-raw string, so '\\f' became a control character): not maths a model writes"
    ),
    "math-verify/test_all/test_set_rel_assymetry/3": (
        "a convention of Math-Verify (allow_set_relation_comp=False): '-2 <= x <= 7' and 'x in [-2, 7]' name the "
        "same set; our default (intervals='lenient') matches them in both directions, intervals='strict' never"
    ),
    "math-verify/test_strict/test_strict_variable_comparison/1": (
        "a convention of Math-Verify (strict=False renames variables): f(x) and f(y) are different expressions "
        "of the problem's variables; we have no renaming option"
    ),
    "math-verify/test_all/test_latex_notation/9": (
        "a false chain: the completion states 1/2 = 10/9; a chain whose constant sides differ states no value "
        "(our policy since the red team's \\boxed{9 = 3} for 3), so its last side is not read as the answer"
    ),
    "math-verify/test_all/test_relations_math/10": (
        "a false chain: 'x = 5+5+1 = 7 = 11' states 11 = 7; a chain whose constant sides differ states no "
        "value (our policy since the red team's \\boxed{1+1=3} for 3), so its last side is not read as the "
        "answer"
    ),
    "math-verify/test_all/test_relations_math/13": (
        "a false chain: 'x = 5+5+1 = 1/3 \\approx 11' states 11 = 1/3 and 1/3 ~ 11; a chain whose sides "
        "disagree states no value (our policy since the red team's \\boxed{x = 3 \\approx 5})"
    ),
    "math-verify/test_all/test_relations_math/16": (
        "'x = 1/3 \\approx 1.3': 1.3 is no approximation of 1/3 (0.333...), so the answer states two values "
        "that disagree; we read no value from it (the red team's \\boxed{x = 3 \\approx 5} class)"
    ),
    "math-verify/test_all/test_relations_math/26": (
        "a false chain: 'z = 3+3 = 2' states 6 = 2; a chain whose constant sides differ states no value (our "
        "policy since the red team's \\boxed{1+1=3} for 3), while the reference 'z = 1 + 1 = 2' states 2"
    ),
}


def git_show(git_dir: str, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], capture_output=True, text=True, check=True
    ).stdout


def head(git_dir: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def literal(node: ast.AST) -> Any:
    """A case value: literals, `Language.X` (-> "x"), and the one f-string of test_float_precision."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Language":
        return node.attr.lower()
    if isinstance(node, ast.JoinedStr):  # f"{math.sqrt(17):.15f}" / f"$\\sqrt{{17}}$"
        import math

        return eval(compile(ast.Expression(node), "<case>", "eval"), {"math": math})  # noqa: S307 (a literal table)
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "StringExtractionConfig":
        return {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [literal(e) for e in node.elts]
    return ast.literal_eval(node)


def parametrized(source: str) -> list[tuple[str, list[str], list[list[Any]]]]:
    out = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            if isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "parametrize":
                names = [n.strip() for n in ast.literal_eval(dec.args[0]).split(",")]
                rows = [literal(e) for e in dec.args[1].elts]
                out.append((node.name, names, rows))
    return out


def translate(call: dict[str, Any], precision: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The peer's call -> (our factory options, extra sample fields).

    Only a precision the case or its test states is translated (into `abs_tol`, half a unit
    of the last place); the helper's default precision=6 is the peer's convention, not the case's.
    """
    options: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    if precision is not None:
        options["abs_tol"] = float(f"5e-{precision + 1}")
    if call.get("match_types") == ["NativeLetters"] or call.get("string_config") is not None:
        metadata["choices"] = "ABCD"
    return options, metadata


def rows_for(repo: str, git_dir: str, commit: str, path: str) -> list[dict[str, Any]]:
    source = git_show(git_dir, commit, path)
    suite = "math-verify" if "Math-Verify" in repo else "lighteval"
    stem = Path(path).stem
    out = []
    for test, names, cases in parametrized(source):
        for i, values in enumerate(cases):
            case = dict(zip(names, values, strict=True))
            key = f"{repo}:{path}#{i}"
            if key in SKIPPED:
                continue
            call: dict[str, Any] = {"match_types": ["latex", "expr"], "precision": 6} if stem != "test_yujianll" else {}
            if stem == "test_yujianll":
                call = {"parse": "default", "verify": "default"}
            call.update(CALLS.get(test, {}))
            if test == "test_precision":
                continue
            if "precision" in case:
                call["precision"] = case["precision"]
            if "language" in case:
                call["language"] = case["language"]
            if "match_type" in case:
                call["match_types"] = case["match_type"]
            if "strict" in case:
                call["strict"] = case["strict"]
            if "allow_set_relation_comp" in case:
                call["allow_set_relation_comp"] = case["allow_set_relation_comp"]
            if stem == "test_string_extraction" and suite == "math-verify":
                # parse(pred, [StringExtractionConfig]) == expected: a choice extraction test; the
                # letter it must find is the gold, an empty result means no letter matches "A"
                found = case["expected"]
                call = {"string_config": case["config"]}
                gold, expected = (found[1], True) if found else ("A", False)
                pred = case["pred"]
            else:
                gold, pred = case["gold"], case["pred"]
                expected = case.get("expected", case.get("result"))
            options, metadata = translate(call, case.get("precision", CALLS.get(test, {}).get("precision")))
            row = {
                "id": f"{suite}/{stem}/{test}/{i}",
                "suite": suite,
                "source": {"repo": repo, "path": path, "commit": commit, "test": test, "case": i},
                "gold": gold,
                "completion": pred,
                "expected": bool(expected),
                "call": call,
                "options": options,
                "metadata": metadata,
            }
            out.append(row)
    # test_precision asserts one compare_strings() call inline (same in both suites)
    if "test_precision" in source:
        out.append(
            {
                "id": f"{suite}/{stem}/test_precision/0",
                "suite": suite,
                "source": {"repo": repo, "path": path, "commit": commit, "test": "test_precision", "case": 0},
                "gold": "$\\frac{1}{3}$",
                "completion": "0.3333$",
                "expected": True,
                "call": {"match_types": ["latex", "expr"], "precision": 4},
                "options": {"abs_tol": 5e-5},
                "metadata": {},
            }
        )
    return out


def main(mv_dir: str, le_dir: str) -> None:
    rows: list[dict[str, Any]] = []
    for spec, git_dir in ((MATH_VERIFY, mv_dir), (LIGHTEVAL, le_dir)):
        commit = head(git_dir)
        for path in spec["files"]:
            rows.extend(rows_for(spec["repo"], git_dir, commit, path))
    seen: dict[str, dict[str, Any]] = {}
    kept = []
    for row in rows:
        key = json.dumps([row["gold"], row["completion"], row["expected"], row["options"], row["metadata"]])
        if key in seen:
            seen[key].setdefault("also", []).append(row["source"] | {"id": row["id"]})
            continue
        seen[key] = row
        kept.append(row)
    for row in kept:
        if row["id"] in DISPUTES:
            row["disputed"] = DISPUTES[row["id"]]
    unknown = set(DISPUTES) - {r["id"] for r in kept}
    if unknown:
        raise SystemExit(f"disputes name cases that do not exist: {sorted(unknown)}")
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    print(f"{len(rows)} cases read, {len(kept)} kept after merging duplicates -> {OUT}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])

